#!/usr/bin/env python3
"""Vote load for bench/faults.sh, keeping the client's own record.

Usage: fault_load.py HOST PORT SLUG OPTION_ID CONNECTIONS CONTROL_FILE OUT_FILE

Each connection posts votes one after another (HTTP/1.1 keep-alive,
reconnecting after any error) until CONTROL_FILE says `stop`. Every vote
ends one way: `acked` (200), `refused` (any other answer: its status is
counted, and whether a 503 carried Retry-After), or `unanswered` (the
connection broke, 5 s passed without an answer, or a 503
`vote-outcome-unknown` said its COMMIT may have landed: it may or may not
have counted). Each second, one line of JSON goes to OUT_FILE: the counts so far,
the slowest answer of that second and how many answers were 503 that second,
so the orchestrator can see when refusals began and ended. Only stdlib.
"""
import asyncio
import json
import os
import sys
import time

HOST, PORT, SLUG, OPTION = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
CONNECTIONS, CONTROL, OUT = int(sys.argv[5]), sys.argv[6], sys.argv[7]
TIMEOUT = 5.0

state = {"acked": 0, "refused": 0, "unanswered": 0, "statuses": {}, "503_without_retry_after": 0}
# This second's figures; `*_t`: when the first answer of that kind came.
second = {"slowest_ms": 0.0, "s503": 0, "ok": 0, "s503_t": 0.0, "ok_t": 0.0}
body = json.dumps({"option_id": OPTION}).encode()
request = (
    f"POST /api/polls/{SLUG}/votes HTTP/1.1\r\nHost: {HOST}:{PORT}\r\n"
    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
).encode() + body


def stopping():
    try:
        with open(CONTROL) as f:
            return f.read().strip() == "stop"
    except OSError:
        return False


async def one(reader, writer):
    writer.write(request)
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed")
    status = int(status_line.split()[1])
    length, retry_after = 0, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "retry-after":
            retry_after = True
    payload = await reader.readexactly(length) if length else b""
    # A 503 whose COMMIT may have landed says so: that vote is unanswered.
    unknown = status == 503 and b"vote-outcome-unknown" in payload
    return status, retry_after, unknown


async def worker():
    reader = writer = None
    while not stopping():
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, PORT), TIMEOUT)
            started = time.monotonic()
            status, retry_after, unknown = await asyncio.wait_for(one(reader, writer), TIMEOUT)
            took = (time.monotonic() - started) * 1000
            second["slowest_ms"] = max(second["slowest_ms"], took)
            if status == 200:
                state["acked"] += 1
                second["ok"] += 1
                second["ok_t"] = second["ok_t"] or time.time()
            elif unknown:
                state["unanswered"] += 1
                second["s503"] += 1
                second["s503_t"] = second["s503_t"] or time.time()
            else:
                state["refused"] += 1
                state["statuses"][str(status)] = state["statuses"].get(str(status), 0) + 1
                if status == 503:
                    second["s503"] += 1
                    second["s503_t"] = second["s503_t"] or time.time()
                    if not retry_after:
                        state["503_without_retry_after"] += 1
                    await asyncio.sleep(0.05)
        except (OSError, asyncio.TimeoutError, ConnectionError, ValueError, IndexError, asyncio.IncompleteReadError) as e:
            if writer is not None:
                # Sent and not answered: it may have counted.
                if not isinstance(e, (ConnectionRefusedError,)):
                    state["unanswered"] += 1
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.05)


async def reporter():
    with open(OUT, "w") as out:
        while not stopping():
            await asyncio.sleep(1)
            line = {"t": time.time(), **state, **second}
            out.write(json.dumps(line) + "\n")
            out.flush()
            second.update(slowest_ms=0.0, s503=0, ok=0, s503_t=0.0, ok_t=0.0)
        out.write(json.dumps({"t": time.time(), "final": True, **state}) + "\n")


async def main():
    workers = [asyncio.create_task(worker()) for _ in range(CONNECTIONS)]
    await reporter()
    await asyncio.gather(*workers, return_exceptions=True)


if __name__ == "__main__":
    os.nice(0)
    asyncio.run(main())
