#!/usr/bin/env python3
"""Unauthenticated clients that try to make the bridge hold memory: N
connections, each posting to the webhook path, in one of these modes:

  signed    headers that pass every check a listener can make before the
            body (a current telnyx-timestamp, 64 bytes of padded base64 as
            the signature: forged), Content-Length BODY, and all of the body
            but its last byte: withheld
  unsigned  the same without the signature headers: the client sends the
            headers, then waits to see whether it is answered before it
            sends a byte of the body
  stale     signature headers with a timestamp hours old: as unsigned
  idle      a connection that sends nothing

  withhold.py HOST PORT N BODY MODE HOLD_S READY_FILE

Writes READY_FILE once every connection has sent what it will send, holds
them HOLD_S seconds, then prints JSON: how many connections were opened,
answered before their body was sent (and with what), answered at all,
and closed by the server.
"""
import asyncio
import base64
import json
import sys
import time

HOST, PORT, N, BODY, MODE, HOLD, READY = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                                          int(sys.argv[4]), sys.argv[5], float(sys.argv[6]),
                                          sys.argv[7])
out = {"mode": MODE, "opened": 0, "refused": 0, "answered_before_body": 0, "answered": 0,
       "closed_by_server": 0, "statuses": {}}
FORGED = base64.b64encode(b"\x01" * 64).decode()


def headers(ts_offset=0, signed=True):
    h = (f"POST /webhooks/telnyx/portouts HTTP/1.1\r\nHost: x\r\n"
         f"Content-Type: application/json\r\nContent-Length: {BODY}\r\n")
    if signed:
        h += f"telnyx-timestamp: {int(time.time()) + ts_offset}\r\ntelnyx-signature-ed25519: {FORGED}\r\n"
    return (h + "\r\n").encode()


async def read_status(reader, timeout):
    try:
        line = await asyncio.wait_for(reader.readline(), timeout=timeout)
    except asyncio.TimeoutError:
        return None
    except (ConnectionError, OSError):
        return "reset"
    if not line:
        return "eof"
    return line.decode(errors="replace").strip()


def note(status):
    out["statuses"][status] = out["statuses"].get(status, 0) + 1


async def one(i, ready):
    try:
        reader, writer = await asyncio.open_connection(HOST, PORT)
    except OSError:
        out["refused"] += 1
        ready.release()
        return
    out["opened"] += 1
    try:
        if MODE == "idle":
            ready.release()
            st = await read_status(reader, HOLD + 5)
        elif MODE in ("unsigned", "stale"):
            writer.write(headers(-7200, True) if MODE == "stale" else headers(signed=False))
            await writer.drain()
            st = await read_status(reader, 3)  # answered before we send the body?
            if st and st.startswith("HTTP/"):
                out["answered_before_body"] += 1
            ready.release()
            if st is None:  # not answered: the body goes, all but its last byte
                writer.write(b" " * (BODY - 1))
                await writer.drain()
                st = await read_status(reader, HOLD + 5)
        else:  # signed
            writer.write(headers())
            body = b"{" + b" " * (BODY - 2)  # the closing brace is never sent
            try:
                for k in range(0, len(body), 65536):
                    writer.write(body[k:k + 65536])
                    await asyncio.wait_for(writer.drain(), timeout=HOLD + 5)
            except (ConnectionError, OSError, asyncio.TimeoutError):
                pass
            ready.release()
            st = await read_status(reader, HOLD + 5)
        if st is not None:
            if st.startswith("HTTP/"):
                out["answered"] += 1
                note(st)
            else:
                out["closed_by_server"] += 1
                note(st)
    finally:
        writer.close()


async def main():
    ready = asyncio.Semaphore(0)
    tasks = [asyncio.create_task(one(i, ready)) for i in range(N)]
    for _ in range(N):
        await ready.acquire()
    with open(READY, "w") as f:
        f.write("ready\n")
    await asyncio.wait(tasks, timeout=HOLD + 10)
    print(json.dumps(out))


asyncio.run(main())
