"""Clients that never finish their first request's head (slowloris), or send one too large:
closed after HEADER_TIMEOUT_SECONDS / answered 431, while everyone else is served."""

import socket
import time

from labeler_proc import Labeler


def recv_all(s: socket.socket, limit: float) -> bytes:
    s.settimeout(limit)
    out = b''
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    except TimeoutError:
        return out + b'<still open>'


def test_slow_and_oversized_request_heads(tmp_path):
    server = Labeler(tmp_path / 'data', env={'HEADER_TIMEOUT_SECONDS': '2'}).start()
    try:
        # 50 connections that send half a head and stop: each closed after the deadline.
        slow = []
        for _ in range(50):
            s = socket.create_connection(('127.0.0.1', server.port))
            s.sendall(b'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ')
            slow.append(s)
        start = time.monotonic()
        status, _ = server.request('GET', '/health')
        assert status == 200, 'others are served meanwhile'
        for s in slow:
            assert recv_all(s, 10) == b'', 'closed without an answer'
            s.close()
        waited = time.monotonic() - start
        assert 1.5 < waited < 8, waited

        # A head over 64 KB: answered 431 (XRPC JSON) and closed, not left hanging.
        s = socket.create_connection(('127.0.0.1', server.port))
        s.sendall(b'GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'a' * 100_000 + b'\r\n\r\n')
        answer = recv_all(s, 10)
        s.close()
        assert answer.startswith(b'HTTP/1.1 431 '), answer[:80]
        assert b'"error":"RequestHeaderFieldsTooLarge"' in answer and not answer.endswith(b'<still open>')

        # A head that arrives in pieces within the deadline, and pipelined requests, are served.
        s = socket.create_connection(('127.0.0.1', server.port))
        for part in [b'GET /health HTTP/1.1\r\n', b'Host: x\r', b'\n\r', b'\nGET /xrpc/_health HTTP/1.1\r\nHost: x\r\n\r\n']:
            s.sendall(part)
            time.sleep(0.3)
        time.sleep(0.5)
        s.settimeout(5)
        got = s.recv(65536)
        s.close()
        assert got.count(b'HTTP/1.1 200 OK') == 2, got[:200]
        print(f'\nslow clients: 50 half-heads closed after {waited:.1f} s (deadline 2 s); 100 KB head → 431')
    finally:
        server.stop()
