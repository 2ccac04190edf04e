"""Holds N live results streams open, as N dashboards would, for a bounded
time, and reports how fresh their events were: for every event every viewer
received, arrival time minus the `as_of` (commit time) it carries. Same
machine, same clock. Parsing waits until the end, so the viewers only read.

Usage: python3 bench/viewers.py URL VIEWERS SECONDS READY_FILE
Writes READY_FILE once every stream is open (the first event received),
then watches for SECONDS.
Prints: URNA viewers=N open=M events=E fresh_p50_ms=… fresh_p99_ms=… fresh_max_ms=…
"""
import asyncio
import datetime
import sys
import time
import urllib.parse

url, viewers, seconds, ready_file = urllib.parse.urlsplit(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
request = f"GET {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nAccept: text/event-stream\r\n\r\n".encode()
seen = []  # (arrival, raw as_of bytes)
opened = 0
watching = asyncio.Event()
all_open = asyncio.Event()


async def viewer():
    global opened
    for attempt in range(20):
        try:
            reader, writer = await asyncio.open_connection(url.hostname, url.port, limit=1 << 20)
            break
        except OSError:
            await asyncio.sleep(0.05 * (attempt + 1))
    else:
        return
    writer.write(request)
    first, buf = True, b""
    try:
        while True:
            chunk = await reader.read(1 << 16)
            if not chunk:
                return
            if first and b"data: " in chunk:
                first = False
                opened += 1
                if opened == viewers:
                    all_open.set()
            if not watching.is_set():
                continue
            now = time.time()
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                i = line.find(b'"as_of":"')
                if line.startswith(b"data: ") and i >= 0:
                    seen.append((now, line[i + 9:line.find(b'"', i + 9)]))
    except (ConnectionError, asyncio.CancelledError):
        return
    finally:
        writer.close()


async def main():
    tasks = []
    for i in range(viewers):
        tasks.append(asyncio.create_task(viewer()))
        if i % 200 == 199:
            await asyncio.sleep(0.01)
    try:
        await asyncio.wait_for(all_open.wait(), 120)
    except asyncio.TimeoutError:
        pass
    open(ready_file, "w").write(str(opened))
    watching.set()
    await asyncio.sleep(seconds)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


asyncio.run(main())
fresh = []
for arrived, as_of in seen:
    committed = datetime.datetime.fromisoformat(as_of.decode().replace("Z", "+00:00")).timestamp()
    fresh.append((arrived - committed) * 1000)
fresh.sort()
pick = lambda q: f"{fresh[min(len(fresh) - 1, int(q * len(fresh)))]:.0f}" if fresh else "nan"
print(f"URNA viewers={viewers} open={opened} events={len(fresh)} "
      f"fresh_p50_ms={pick(0.5)} fresh_p99_ms={pick(0.99)} fresh_max_ms={pick(1.0)}")
