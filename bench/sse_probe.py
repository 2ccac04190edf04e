"""Watches a results stream for a bounded time, as a dashboard would, and
prints how fresh each event was when it arrived: arrival time minus the
`as_of` (commit time) it carries. Same machine, same clock.

Usage: python3 bench/sse_probe.py URL SECONDS
Prints: URNA events=N per_sec=R fresh_p50_ms=… fresh_p99_ms=… fresh_max_ms=…
"""
import datetime
import json
import socket
import sys
import time
import urllib.parse

url, seconds = urllib.parse.urlsplit(sys.argv[1]), float(sys.argv[2])
sock = socket.create_connection((url.hostname, url.port))
sock.sendall(f"GET {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nAccept: text/event-stream\r\n\r\n".encode())
# Short reads, so a quiet stream (no change, no event) still ends on time.
sock.settimeout(0.25)
start, fresh, buf = time.time(), [], b""
while time.time() - start < seconds:
    try:
        chunk = sock.recv(1 << 16)
    except TimeoutError:
        continue
    if not chunk:
        break
    arrived = time.time()
    buf += chunk
    # Each event is one chunk of the chunked body, so a data line is never
    # split by the framing.
    *lines, buf = buf.split(b"\n")
    for line in lines:
        if line.startswith(b"data: "):
            as_of = json.loads(line[6:]).get("as_of")
            if as_of:
                committed = datetime.datetime.fromisoformat(as_of.replace("Z", "+00:00")).timestamp()
                fresh.append((arrived - committed) * 1000)
sock.close()
elapsed = time.time() - start
fresh = sorted(fresh[1:])  # the first event is the snapshot of the moment of connecting
pick = lambda q: f"{fresh[min(len(fresh) - 1, int(q * len(fresh)))]:.0f}" if fresh else "nan"
print(f"URNA events={len(fresh)} per_sec={len(fresh) / elapsed:.1f} "
      f"fresh_p50_ms={pick(0.5)} fresh_p99_ms={pick(0.99)} fresh_max_ms={pick(1.0)}")
