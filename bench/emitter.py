#!/usr/bin/env python3
"""Paced label emitter for the live-subscriber benchmark (bench/README.md).

Sends COUNT `POST /emit-label` requests at RATE per second (or fewer: none is sent after MAX_SECONDS) (request i is due at t0 + i/RATE),
over CONNS keep-alive HTTP/1.1 connections (a request waits for a free connection if all are
busy; that delay shows up as lateness). Standard library only.

Writes OUT (CSV): seq, t_due_us, t_send_us, t_ack_us, all CLOCK_MONOTONIC in microseconds
(time.monotonic_ns, the clock wsclient.c uses), one line per acknowledged label.
Prints one JSON summary line.
"""
import argparse
import asyncio
import json
import os
import re
import resource
import sys
import time

SEQ_RE = re.compile(rb'"seq":(\d+)')


def mono_us():
    return time.monotonic_ns() // 1000


async def open_conn(host, port):
    return await asyncio.open_connection(host, port)


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
    if not m:
        raise RuntimeError("response without content-length: %r" % head[:200])
    body = await reader.readexactly(int(m.group(1)))
    return status, body


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--count", type=int, default=30000)
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--max-seconds", type=float, default=0, help="stop sending after this long (0: no limit)")
    ap.add_argument("--run", default=str(os.getpid()))
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    conns = asyncio.Queue()
    for _ in range(a.conns):
        conns.put_nowait(await open_conn(a.host, a.port))
    rows = []
    errors = []
    late = []
    t0 = mono_us() + 200_000
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)

    deadline = t0 + int(a.max_seconds * 1e6) if a.max_seconds else None
    skipped = []

    async def one(i):
        due = t0 + int(i * 1e6 / a.rate)
        delay = due - mono_us()
        if delay > 0:
            await asyncio.sleep(delay / 1e6)
        reader, writer = await conns.get()
        if deadline and mono_us() > deadline:
            skipped.append(i)
            conns.put_nowait((reader, writer))
            return
        body = ('{"uri":"at://did:plc:livebench%s/fm.plyr.track/t%d","val":"spam"}' % (a.run, i)).encode()
        req = (b"POST /emit-label HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
               b"X-Moderation-Key: %s\r\nContent-Length: %d\r\n\r\n" % (a.host.encode(), a.port, a.token.encode(), len(body))) + body
        try:
            t_send = mono_us()
            writer.write(req)
            status, resp = await read_response(reader)
            t_ack = mono_us()
        except Exception as e:  # a broken connection: replace it
            errors.append(repr(e))
            conns.put_nowait(await open_conn(a.host, a.port))
            return
        conns.put_nowait((reader, writer))
        if status != 200:
            errors.append("%d %s" % (status, resp[:200]))
            return
        late.append(t_send - due)
        rows.append((int(SEQ_RE.search(resp).group(1)), due, t_send, t_ack))

    # Launch in waves so that only about a second of requests is pending at once.
    tasks = set()
    for i in range(a.count):
        tasks.add(asyncio.create_task(one(i)))
        if len(tasks) >= max(64, int(a.rate)):
            done, tasks = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    if tasks:
        await asyncio.wait(tasks)
    t_end = mono_us()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    rows.sort()
    with open(a.out, "w") as f:
        f.write("seq,t_due_us,t_send_us,t_ack_us\n")
        for r in rows:
            f.write("%d,%d,%d,%d\n" % r)
    acks = sorted(r[3] - r[2] for r in rows)
    late.sort()
    q = lambda xs, p: xs[min(len(xs) - 1, int(p * len(xs)))] if xs else None
    wall = (t_end - t0) / 1e6
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    print(json.dumps({
        "mode": "emitter", "emitted": len(rows), "skipped_after_deadline": len(skipped), "errors": len(errors), "first_errors": errors[:3],
        "wall_s": round(wall, 3), "achieved_rate": round(len(rows) / wall, 1),
        "first_seq": rows[0][0] if rows else None, "last_seq": rows[-1][0] if rows else None,
        "emit_latency_ms": {"p50": q(acks, .5) / 1e3, "p99": q(acks, .99) / 1e3, "max": acks[-1] / 1e3} if acks else None,
        "send_lateness_ms": {"p50": q(late, .5) / 1e3, "p99": q(late, .99) / 1e3, "max": late[-1] / 1e3} if late else None,
        "cpu_pct_of_one_core": round(100 * cpu / wall, 1),
    }))


if __name__ == "__main__":
    asyncio.run(main())
