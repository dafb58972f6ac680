#!/usr/bin/env python3
"""Hostile slow clients for the listener tests: N connections that each send
a request line and then one header every INTERVAL seconds, never finishing
(slowloris). Meanwhile the admin probes are asked every 200 ms.

  slowloris.py HOST PORT ADMIN_URL N INTERVAL DURATION [reconnect]

With "reconnect", every connection is opened again as soon as the server
closes it (an attacker keeping N slots taken), and every other one sends
nothing at all (idle) instead of trickling headers.

Prints JSON: how many connections were refused at once (over the connection
limit), how many the server closed and after how long (min, p50, max), how
many were still open at the end, and the probes' latencies (p90, max) and
failures.
"""
import asyncio
import json
import sys
import time
import urllib.request


async def again(host, port, interval, duration, out, idle):
    t_end = time.monotonic() + duration
    while time.monotonic() < t_end:
        await one(host, port, interval, t_end - time.monotonic(), out, idle)
        out["reconnects"] = out.get("reconnects", 0) + 1
    out["open_at_end"] = 0  # by design: they are reopened to the end


async def one(host, port, interval, duration, out, idle=False):
    t0 = time.monotonic()
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        out["refused"] += 1
        await asyncio.sleep(0.05)
        return
    try:
        if not idle:
            writer.write(b"POST /webhooks/telnyx/portouts HTTP/1.1\r\nHost: x\r\n")
            await writer.drain()
        n = 0
        while time.monotonic() - t0 < duration:
            try:
                data = await asyncio.wait_for(reader.read(4096), timeout=interval)
                if not data:  # closed by the server
                    out["closed_after"].append(time.monotonic() - t0)
                    return
                out["answers"][data.split(b"\r\n", 1)[0].decode(errors="replace")] = \
                    out["answers"].get(data.split(b"\r\n", 1)[0].decode(errors="replace"), 0) + 1
            except asyncio.TimeoutError:
                pass
            n += 1
            if not idle:
                writer.write(b"X-Slow-%d: 1\r\n" % n)
                await writer.drain()
        out["open_at_end"] += 1
    except (ConnectionError, OSError):
        out["closed_after"].append(time.monotonic() - t0)
    finally:
        writer.close()


async def probes(admin, duration, out):
    loop = asyncio.get_running_loop()
    t_end = time.monotonic() + duration
    while time.monotonic() < t_end:
        for path in ("/healthz", "/readyz"):
            t = time.monotonic()
            try:
                code = await loop.run_in_executor(
                    None, lambda: urllib.request.urlopen(admin + path, timeout=5).status)
            except Exception as e:  # noqa: BLE001 - any failure is a failed probe
                code = str(e)
            out["probes"].append((path, code, round(time.monotonic() - t, 3)))
        await asyncio.sleep(0.2)


async def main():
    host, port, admin, n, interval, duration = sys.argv[1:7]
    port, n, interval, duration = int(port), int(n), float(interval), float(duration)
    out = {"refused": 0, "closed_after": [], "open_at_end": 0, "answers": {}, "probes": []}
    if len(sys.argv) > 7 and sys.argv[7] == "reconnect":
        tasks = [again(host, port, interval, duration, out, i % 2 == 0) for i in range(n)]
    else:
        tasks = [one(host, port, interval, duration, out) for _ in range(n)]
    await asyncio.gather(probes(admin, duration, out), *tasks)
    c = sorted(out["closed_after"])
    out["closed"] = len(c)
    out["closed_min_s"] = round(c[0], 2) if c else None
    out["closed_p50_s"] = round(c[len(c) // 2], 2) if c else None
    out["closed_max_s"] = round(c[-1], 2) if c else None
    del out["closed_after"]
    bad = [p for p in out["probes"] if p[1] != 200]
    out["probes_total"] = len(out["probes"])
    out["probes_failed"] = len(bad)
    lat = sorted(p[2] for p in out["probes"])
    out["probe_max_s"] = lat[-1] if lat else None
    out["probe_p90_s"] = lat[len(lat) * 9 // 10] if lat else None
    out["probes"] = bad[:10]
    print(json.dumps(out))


asyncio.run(main())
