"""Hostile subscribers (issue 8): 1,000 WebSocket clients that ask for everything (cursor=0) and
never read, plus 100 that reconnect in a loop, while a few honest live subscribers measure how long
new labels take to reach them. The server's memory must stay bounded, the honest subscribers keep
receiving every label with low latency, and new connections are accepted throughout.
"""

import asyncio
import base64
import os
import socket
import statistics
import threading
import time

import libipld
from websockets.sync.client import connect as ws_connect

from labeler_proc import SOAK, Labeler, PersistentClient, plc

NEVER_READ = 1000
RECONNECTING = 100
LIVE_READERS = 5
BACKLOG = 4000          # labels in the log before the storm: every never-reader asks for all of them
EMIT_RATE = 20          # live labels per second during the storm
STORM_SECONDS = 60 if SOAK else 12
DRAIN_TIMEOUT = 5       # SUBSCRIBER_DRAIN_TIMEOUT_SECONDS for this server
# On loopback the kernel's send-buffer autotuning would swallow megabytes per connection before the
# server ever sees a stuck write; a fixed SO_SNDBUF makes the never-readers hit it at this backlog.
SEND_BUFFER = 65536
SUBJECT = plc('hostile')


def upgrade_request(port: int, cursor: int | None) -> bytes:
    q = '' if cursor is None else f'?cursor={cursor}'
    key = base64.b64encode(os.urandom(16)).decode()
    return (f'GET /xrpc/com.atproto.label.subscribeLabels{q} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n'
            f'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n'
            f'Sec-WebSocket-Version: 13\r\n\r\n').encode()


async def open_upgraded(port: int, cursor: int | None, rcvbuf: int | None = None):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ('127.0.0.1', port))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(upgrade_request(port, cursor))
    status = await asyncio.wait_for(reader.readuntil(b'\r\n\r\n'), 10)
    assert status.startswith(b'HTTP/1.1 101'), status[:100]
    return reader, writer


class Storm:
    def __init__(self, port: int):
        self.port = port
        self.never_readers = []
        self.reconnects = 0
        self.reconnect_failures = 0
        self.stop = None

    async def run(self, ready: threading.Event, done: threading.Event):
        self.stop = asyncio.Event()
        # Never read: a tiny receive buffer, so the server's writes back up quickly.
        for i in range(0, NEVER_READ, 50):
            self.never_readers += await asyncio.gather(
                *[open_upgraded(self.port, 0, rcvbuf=4096) for _ in range(min(50, NEVER_READ - i))])
        ready.set()
        loops = [asyncio.create_task(self.reconnect_loop()) for _ in range(RECONNECTING)]
        while not done.is_set():
            await asyncio.sleep(0.1)
        self.stop.set()
        await asyncio.gather(*loops)
        for _, w in self.never_readers:
            w.close()

    async def reconnect_loop(self):
        while not self.stop.is_set():
            try:
                reader, writer = await open_upgraded(self.port, 0)
                await asyncio.wait_for(reader.read(4096), 5)  # a little backfill, then go away
                writer.close()
                self.reconnects += 1
            except Exception:
                self.reconnect_failures += 1
                await asyncio.sleep(0.05)


class LiveReader(threading.Thread):
    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.port, self.received, self.error = port, {}, None
        self.connected = threading.Event()
        self.stopping = threading.Event()

    def run(self):
        try:
            with ws_connect(f'ws://127.0.0.1:{self.port}/xrpc/com.atproto.label.subscribeLabels', max_size=None) as ws:
                self.connected.set()
                while not self.stopping.is_set():
                    try:
                        frame = ws.recv(timeout=0.5)
                    except TimeoutError:
                        continue
                    now = time.monotonic()
                    _, body = libipld.decode_dag_cbor_multi(frame)
                    self.received[body['seq']] = now
        except Exception as e:  # noqa: BLE001 — reported by the test
            self.error = e


def test_never_reading_and_reconnecting_subscribers(tmp_path):
    server = Labeler(tmp_path / 'data', env={
        'SUBSCRIBER_DRAIN_TIMEOUT_SECONDS': str(DRAIN_TIMEOUT), 'SUBSCRIBER_SEND_BUFFER_BYTES': str(SEND_BUFFER)}).start()
    try:
        for start in range(0, BACKLOG, 1000):
            status, body = server.request('POST', '/emit-labels', admin=True, body={'labels': [
                {'uri': f'at://{SUBJECT}/fm.plyr.track/b{n}', 'val': 'copyright-violation'} for n in range(start, start + 1000)]})
            assert status == 200, body
        rss_idle = server.rss_kb()

        readers = [LiveReader(server.port) for _ in range(LIVE_READERS)]
        for r in readers:
            r.start()
            assert r.connected.wait(10)

        storm = Storm(server.port)
        ready, done = threading.Event(), threading.Event()
        storm_thread = threading.Thread(target=lambda: asyncio.run(storm.run(ready, done)), daemon=True)
        storm_thread.start()
        assert ready.wait(120), 'the never-reading clients connected'

        acks: dict[int, float] = {}
        rss_peak, health_worst, health_failures = 0, 0.0, 0
        client = PersistentClient(server.port)
        t_end = time.monotonic() + STORM_SECONDS
        n = 0
        next_health = 0.0
        while time.monotonic() < t_end:
            status, body = client.post('/emit-label', {'uri': f'at://{SUBJECT}/fm.plyr.track/live{n}', 'val': 'copyright-violation'})
            assert status == 200, body
            acks[body['seq']] = time.monotonic()
            n += 1
            rss_peak = max(rss_peak, server.rss_kb())
            if time.monotonic() >= next_health:  # a new connection each time: is it still accepting?
                t0 = time.monotonic()
                try:
                    assert server.request('GET', '/xrpc/_health', timeout=10)[0] == 200
                except Exception:
                    health_failures += 1
                health_worst = max(health_worst, time.monotonic() - t0)
                next_health = time.monotonic() + 0.5
            time.sleep(1 / EMIT_RATE)
        time.sleep(2)
        client.close()
        subscribers_during = server.metric('labeler_subscribers')
        closed_slow = server.metric('labeler_slow_subscribers_closed_total')
        done.set()
        storm_thread.join(60)
        for r in readers:
            r.stopping.set()
            r.join(10)

        latencies = []
        for r in readers:
            assert r.error is None, r.error
            missing = [s for s in acks if s not in r.received]
            assert not missing, f'a live reader missed {len(missing)} of {len(acks)} labels'
            latencies += [max(0.0, r.received[s] - t) for s, t in acks.items()]
        latencies.sort()
        p50 = latencies[len(latencies) // 2] * 1000
        p99 = latencies[int(len(latencies) * 0.99)] * 1000
        worst = latencies[-1] * 1000
        print(f'\nhostile subscribers: {NEVER_READ} never-reading (cursor=0, {BACKLOG} labels each), {RECONNECTING} '
              f'reconnecting ({storm.reconnects} reconnects, {storm.reconnect_failures} failed), {STORM_SECONDS} s; '
              f'server RSS idle {rss_idle // 1024} MB, peak {rss_peak // 1024} MB; live latency after ack '
              f'p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {worst:.1f} ms over {len(acks)} labels x {LIVE_READERS} readers; '
              f'/xrpc/_health on a new connection worst {health_worst * 1000:.0f} ms, {health_failures} failures; '
              f'subscribers at the end {subscribers_during:.0f}, closed as slow {closed_slow:.0f}')
        assert health_failures == 0
        assert health_worst < 3.0
        assert rss_peak < 512 * 1024, f'server RSS peaked at {rss_peak // 1024} MB'
        assert p99 < 2000, f'live p99 {p99:.0f} ms'
        assert storm.reconnects >= RECONNECTING, 'the reconnecting clients got through'
        assert closed_slow >= NEVER_READ * 0.9, 'never-reading subscribers are closed after the drain timeout'
    finally:
        server.stop()
