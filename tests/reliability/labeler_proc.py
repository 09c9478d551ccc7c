"""The real `labeler` binary as a child process, for the reliability tests (tests/reliability).

Everything here talks to the server the way a client would: HTTP with the standard library,
WebSocket frames with `websockets`, DAG-CBOR with `libipld` (both come with the atproto SDK).
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import time
import urllib.parse
from pathlib import Path

import libipld
from websockets.sync.client import connect as ws_connect

REPO_ROOT = Path(__file__).resolve().parents[2]
LABELER_BIN = Path(os.environ.get('LABELER_BIN', REPO_ROOT / '.build' / 'debug' / 'labeler'))
if not LABELER_BIN.is_absolute():
    LABELER_BIN = REPO_ROOT / LABELER_BIN

# `make soak` sets SOAK=1: the long versions of the same tests.
SOAK = os.environ.get('SOAK') == '1'
TOKEN = 'reliability-test-admin-key-0123456789'


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def plc(name: str) -> str:
    """A did:plc-shaped DID (24 base32 characters)."""
    return 'did:plc:' + (name * 24)[:20] + '2345'


class Labeler:
    """One `labeler serve` on a data directory; restartable on the same port."""

    def __init__(self, data_dir: Path, env: dict | None = None, log_name: str = 'server.log'):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.env = dict(os.environ, MODERATION_AUTH_TOKEN=TOKEN, **(env or {}))
        self.log_path = self.data_dir.parent / log_name
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.port}'

    def start(self, timeout: float = 60.0) -> 'Labeler':
        log = open(self.log_path, 'ab')
        self.proc = subprocess.Popen(
            [str(LABELER_BIN), 'serve', '--data-dir', str(self.data_dir), '--port', str(self.port),
             '--host', '127.0.0.1', '--log-level', 'notice'],
            stdout=log, stderr=subprocess.STDOUT, env=self.env)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f'labeler exited with {self.proc.returncode}: {self.log_tail()}')
            try:
                if self.request('GET', '/health', timeout=1)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f'labeler did not answer in {timeout} s: {self.log_tail()}')

    def log_tail(self, n: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors='replace')[-n:]
        except OSError:
            return ''

    def kill(self) -> None:
        """SIGKILL: no chance to clean up."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def terminate(self, timeout: float = 30.0) -> tuple[int, float]:
        """SIGTERM; returns (exit code, seconds until exit)."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        return code, time.monotonic() - t0

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                self.terminate(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def rss_kb(self) -> int:
        for line in Path(f'/proc/{self.proc.pid}/status').read_text().splitlines():
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
        return 0

    def open_fds(self) -> int:
        return len(os.listdir(f'/proc/{self.proc.pid}/fd'))

    # --- HTTP ---------------------------------------------------------------------------------

    def request(self, method: str, path: str, body=None, admin: bool = False, timeout: float = 10,
                headers: dict | None = None, raw: bytes | None = None):
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=timeout)
        try:
            h = dict(headers or {})
            if admin:
                h['X-Moderation-Key'] = TOKEN
            data = raw
            if body is not None:
                data = json.dumps(body).encode()
                h.setdefault('Content-Type', 'application/json')
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            payload = r.read()
            try:
                parsed = json.loads(payload) if payload else None
            except ValueError:
                parsed = payload
            return r.status, parsed
        finally:
            conn.close()

    def head(self) -> int:
        return self.request('GET', '/health')[1]['head']

    def metric(self, name: str) -> float:
        status, text = self.request('GET', '/metrics')
        text = text.decode() if isinstance(text, bytes) else str(text)
        for line in text.splitlines():
            if line.startswith(name + ' '):
                return float(line.split()[1])
        raise KeyError(name)

    def query_all(self, pattern: str, limit: int = 250) -> list[dict]:
        out, cursor = [], None
        while True:
            q = {'uriPatterns': pattern, 'limit': str(limit)}
            if cursor:
                q['cursor'] = cursor
            status, body = self.request('GET', '/xrpc/com.atproto.label.queryLabels?' + urllib.parse.urlencode(q))
            assert status == 200, (status, body)
            out += body['labels']
            cursor = body.get('cursor')
            if not cursor:
                return out

    def stream(self, cursor: int, until_seq: int, timeout: float = 60) -> list[tuple[int, dict]]:
        """(seq, label) for every #labels frame from `cursor` until seq ≥ until_seq."""
        out = []
        url = f'ws://127.0.0.1:{self.port}/xrpc/com.atproto.label.subscribeLabels?cursor={cursor}'
        deadline = time.monotonic() + timeout
        with ws_connect(url, max_size=None, open_timeout=10) as ws:
            while True:
                frame = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
                header, body = libipld.decode_dag_cbor_multi(frame)
                assert header == {'op': 1, 't': '#labels'}, (header, body)
                for label in body['labels']:
                    out.append((body['seq'], label))
                if body['seq'] >= until_seq:
                    return out


class PersistentClient:
    """A keep-alive HTTP connection that reconnects after errors (one per emitter thread)."""

    def __init__(self, port: int, timeout: float = 10):
        self.port, self.timeout, self.conn = port, timeout, None

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=self.timeout)
        try:
            self.conn.request('POST', path, body=json.dumps(body).encode(),
                              headers={'Content-Type': 'application/json', 'X-Moderation-Key': TOKEN})
            r = self.conn.getresponse()
            return r.status, json.loads(r.read() or b'null')
        except Exception:
            self.close()
            raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(LABELER_BIN), *args], capture_output=True, text=True, timeout=timeout)
