"""Crash safety and graceful shutdown of `labeler serve` (issue 8).

* SIGKILL at a random moment while several clients emit labels, several rounds: every emit that
  got a 200 is in queryLabels and on the stream under the seq it was acknowledged with, and
  `labeler replay verify` (hash chain, contiguous seqs, signatures, projections == a rebuild)
  passes.
* SIGTERM during the same load: the process exits 0 within a few seconds, every acknowledged
  emit is durable, and a live subscriber gets a clean close (a close frame: 1000 or 1001).
"""

import random
import threading
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from labeler_proc import SOAK, Labeler, PersistentClient, plc, run_cli

SUBJECT = plc('crashtest')
EMITTERS = 8


class EmitLoad:
    """EMITTERS threads emitting distinct labels until stopped; records every acknowledgement."""

    def __init__(self, port: int, tag: str):
        self.port, self.tag = port, tag
        self.acked: dict[str, int] = {}  # uri -> seq
        self.errors = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(EMITTERS)]

    def _run(self, worker: int):
        client = PersistentClient(self.port, timeout=5)
        n = 0
        while not self.stopping.is_set():
            uri = f'at://{SUBJECT}/fm.plyr.track/{self.tag}w{worker}n{n}'
            n += 1
            try:
                status, body = client.post('/emit-label', {'uri': uri, 'val': 'copyright-violation'})
            except Exception:
                with self.lock:
                    self.errors += 1
                time.sleep(0.01)
                continue
            if status == 200:
                assert body['label']['uri'] == uri
                with self.lock:
                    self.acked[uri] = body['seq']
        client.close()

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=30)


def check_everything_acked_is_served(server: Labeler, acked: dict[str, int]):
    served = {l['uri']: l for l in server.query_all(f'at://{SUBJECT}/*')}
    missing = [u for u in acked if u not in served]
    assert not missing, f'{len(missing)} acknowledged labels missing from queryLabels, e.g. {missing[:3]}'
    last = max(acked.values())
    frames = server.stream(0, last)
    seqs = [s for s, _ in frames]
    assert seqs == sorted(set(seqs)), 'stream seqs must strictly increase'
    by_seq = {s: l['uri'] for s, l in frames}
    wrong = [(u, s) for u, s in acked.items() if by_seq.get(s) != u]
    assert not wrong, f'{len(wrong)} acknowledged labels not on the stream at their seq, e.g. {wrong[:3]}'


def verify(data_dir):
    r = run_cli('replay', 'verify', '--data-dir', str(data_dir))
    assert r.returncode == 0, f'replay verify failed:\n{r.stdout}\n{r.stderr}'
    return r.stdout


def test_sigkill_during_concurrent_emits_loses_no_acknowledged_label(tmp_path):
    rounds = 12 if SOAK else 3
    rng = random.Random(8)
    server = Labeler(tmp_path / 'data')
    acked: dict[str, int] = {}
    kills = []
    try:
        for r in range(rounds):
            server.start()
            with EmitLoad(server.port, f'r{r}') as load:
                time.sleep(rng.uniform(0.3, 2.5 if SOAK else 1.2))
                server.kill()
                kills.append(len(load.acked))
            acked.update(load.acked)
        assert all(k > 0 for k in kills), f'every round acknowledged something before the kill: {kills}'
        server.start()
        # The head is the last acknowledged write or beyond (an append may commit after the kill
        # took its client away); never behind.
        assert server.head() >= max(acked.values())
        check_everything_acked_is_served(server, acked)
    finally:
        server.stop()
    out = verify(server.data_dir)
    print(f'\n{rounds} SIGKILLs; {len(acked)} acknowledged emits (per round {kills}); all present; verify: {out.strip().splitlines()[-1]}')


def test_sigterm_under_load_exits_cleanly_and_keeps_acknowledged_writes(tmp_path):
    server = Labeler(tmp_path / 'data').start()
    closed = {}

    def subscriber():
        url = f'ws://127.0.0.1:{server.port}/xrpc/com.atproto.label.subscribeLabels'
        with ws_connect(url, max_size=None) as ws:
            closed['ready'] = True
            try:
                while True:
                    ws.recv(timeout=30)
                    closed['frames'] = closed.get('frames', 0) + 1
            except ConnectionClosed as e:
                closed['code'] = e.rcvd.code if e.rcvd else None
                closed['reason'] = e.rcvd.reason if e.rcvd else None

    sub = threading.Thread(target=subscriber, daemon=True)
    sub.start()
    try:
        with EmitLoad(server.port, 'term') as load:
            time.sleep(1.0)
            code, seconds = server.terminate(timeout=20)
        assert code == 0, f'exit code {code}: {server.log_tail()}'
        assert seconds < 5, f'took {seconds:.1f} s to exit'
        sub.join(timeout=10)
        assert closed.get('frames', 0) > 0, 'the live subscriber received labels before the shutdown'
        # A close handshake, not a dropped connection (Hummingbird's own shutdown sends 1000 first).
        assert closed.get('code') in (1000, 1001), f'subscriber close: {closed}'
        assert len(load.acked) > 0
        server.start()
        check_everything_acked_is_served(server, load.acked)
    finally:
        server.stop()
    verify(server.data_dir)
    print(f'\nSIGTERM under load: exit 0 in {seconds:.2f} s; {len(load.acked)} acknowledged emits all durable; '
          f'subscriber closed with {closed["code"]} after {closed["frames"]} frames')
