"""Interop: the `atproto` Python SDK (MarshalX/atproto, pinned 0.0.73) as a third-party client
of the real labeler binary.

What is exercised:
  * queryLabels through the SDK's XRPC client, paged with a small limit until no cursor;
    every label checked against what was emitted (latest state per (src, uri, cid, val))
    and its signature verified with the SDK's crypto module;
  * subscribeLabels through the SDK's FirehoseSubscribeLabelsClient: backfill from cursor 0,
    strictly increasing seqs without duplicates, signatures, a live label, a clean stop;
  * FutureCursor as the SDK reports it, and on the raw wire;
  * the did:web document (key under `#atproto_label`) resolved with the SDK's resolver.

SDK quirks worked around here (0.0.73):
  * `client.com.atproto.label.query_labels` raises ModelError on spec-form labels: the Label
    model types `sig` as str|bytes and nothing in the SDK turns `{"$bytes": ...}` into bytes.
    We call the lower-level `client.invoke_query`, convert `sig`, then build the SDK models.
  * `DidWebResolver` always fetches `https://<host>/...` and does not percent-decode the
    `%3A` of `did:web:localhost%3A<port>`; a subclass fixes the URL for the local server.
  * `DidDocument.get_signing_key()` only knows `#atproto`; the `#atproto_label` entry is
    looked up by hand in `verification_method`.
  * The subscription client silently drops frames it cannot decode and silently reconnects
    with its original params (replaying from cursor 0 again). We count connections through
    the client's `_before_connect` hook so that a reconnect cannot masquerade as a server
    duplicate, and the seq-completeness checks catch dropped frames.

Run: `make interop` (or LABELER_BIN=.build/debug/labeler .venv/bin/python -m pytest -q tests/interop)
"""

import base64
import datetime as dt
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import typing as t
import urllib.parse
from pathlib import Path

import httpx
import libipld
import pytest
from atproto import Client, models
from atproto_client.models.utils import get_or_create
from atproto_crypto.did import get_did_key
from atproto_crypto.verify import verify_signature
from atproto_firehose import FirehoseSubscribeLabelsClient, parse_subscribe_labels_message
from atproto_identity.did.resolvers.web_resolver import DidWebResolver
from atproto_subscription.exceptions import SubscriptionError
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

REPO_ROOT = Path(__file__).resolve().parents[2]
LABELER_BIN = Path(os.environ.get('LABELER_BIN', REPO_ROOT / '.build' / 'debug' / 'labeler'))
if not LABELER_BIN.is_absolute():
    LABELER_BIN = REPO_ROOT / LABELER_BIN

STARTUP_TIMEOUT = 20.0
STREAM_TIMEOUT = 30.0

# The schema fields that are signed (protocol doc 2.1); everything else (sig, $type) is not.
SIGNED_FIELDS = ('ver', 'src', 'uri', 'cid', 'val', 'neg', 'cts', 'exp')

def plc(name: str) -> str:
    """A did:plc-shaped DID (24 base32 characters) for a made-up account."""
    return 'did:plc:' + (name * 24)[:20] + '2345'


ALICE = plc('alice')
BOB = plc('bob')
CAROL = plc('carol')
DAVE = plc('dave')
OTHER = plc('nobody')


def post(did: str, rkey: str) -> str:
    return f'at://{did}/app.bsky.feed.post/{rkey}'


def fake_cid(seed: str) -> str:
    """A syntactically valid CIDv1 (dag-cbor, sha2-256), base32 multibase."""
    raw = bytes([0x01, 0x71, 0x12, 0x20]) + hashlib.sha256(seed.encode()).digest()
    return libipld.encode_multibase('b', raw)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def b64_bytes(value: t.Any) -> bytes:
    """Decode the data-model JSON form of bytes, `{"$bytes": "<base64, padding optional>"}`."""
    assert isinstance(value, dict) and set(value) == {'$bytes'}, f'sig is not {{"$bytes": ...}}: {value!r}'
    text = value['$bytes']
    return base64.b64decode(text + '=' * (-len(text) % 4), validate=True)


def json_label_to_sdk(raw: dict) -> dict:
    """Spec JSON label -> dict the SDK's Label model accepts (sig as bytes)."""
    converted = dict(raw)
    if 'sig' in converted:
        converted['sig'] = b64_bytes(converted['sig'])
    return converted


def unsigned_cbor(fields: dict) -> bytes:
    return libipld.encode_dag_cbor({k: fields[k] for k in SIGNED_FIELDS if k in fields})


def label_model_fields(label: models.ComAtprotoLabelDefs.Label) -> dict:
    """The fields of an SDK Label model as they would go on the wire (no None, no $type)."""
    dumped = label.model_dump(exclude_none=True, by_alias=True)
    dumped.pop('$type', None)
    return dumped


def verify_label(label: models.ComAtprotoLabelDefs.Label, did_key: str) -> bool:
    assert isinstance(label.sig, bytes), f'sig should be bytes after conversion, got {type(label.sig)}'
    assert len(label.sig) == 64, f'sig must be 64-byte compact r||s, got {len(label.sig)} bytes'
    return verify_signature(did_key, unsigned_cbor(label_model_fields(label)), label.sig)


def now_plus(**delta: float) -> str:
    when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(**delta)
    return when.strftime('%Y-%m-%dT%H:%M:%S.') + f'{when.microsecond // 1000:03d}Z'


def label_key(label: dict) -> tuple:
    return (label['src'], label['uri'], label.get('cid'), label['val'])


class Labeler:
    """One labeler process on a temporary data directory."""

    def __init__(self, env_extra: t.Optional[t.Dict[str, str]] = None, port: t.Optional[int] = None) -> None:
        if not LABELER_BIN.exists():
            pytest.fail(f'labeler binary not found at {LABELER_BIN}: run `swift build --product labeler` or set LABELER_BIN')
        self.data_dir = Path(tempfile.mkdtemp(prefix='labeler-interop-'))
        self.port = port or free_port()
        self.base = f'http://127.0.0.1:{self.port}'
        self.ws_base = f'ws://127.0.0.1:{self.port}/xrpc'
        self.log_path = self.data_dir / 'server.log'
        env = {k: v for k, v in os.environ.items() if not k.startswith(('LABELER_', 'MODERATION_'))}
        env.update(env_extra or {})
        self._log = open(self.log_path, 'wb')
        self.proc = subprocess.Popen(
            [str(LABELER_BIN), 'serve', '--data-dir', str(self.data_dir / 'data'),
             '--port', str(self.port), '--host', '127.0.0.1'],
            stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=self.data_dir,
        )
        self.http = httpx.Client(base_url=self.base, timeout=10.0)
        #: every label the labeler acknowledged, as returned by emit-label(s): (seq, label JSON)
        self.emitted: t.List[t.Tuple[int, dict]] = []
        try:
            self._wait_healthy()
        except BaseException:
            self.close()
            raise
        self.token = (self.data_dir / 'data' / 'admin-token').read_text().strip()

    def server_log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors='replace')

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f'labeler exited with {self.proc.returncode} during startup; log:\n{self.server_log()}')
            try:
                r = self.http.get('/health', timeout=1.0)
                if r.status_code == 200:
                    self.health = r.json()
                    self.did = self.health['did']
                    return
                last = f'{r.status_code} {r.text}'
            except httpx.HTTPError as e:
                last = repr(e)
            time.sleep(0.1)
        pytest.fail(f'labeler not healthy within {STARTUP_TIMEOUT}s (last: {last}); log:\n{self.server_log()}')

    def head(self) -> int:
        return self.http.get('/health').json()['head']

    def _post(self, path: str, body: dict) -> dict:
        r = self.http.post(path, json=body, headers={'X-Moderation-Key': self.token})
        assert r.status_code == 200, f'{path} {body} -> {r.status_code} {r.text}'
        return r.json()

    def emit(self, uri: str, val: str, **extra: t.Any) -> t.Tuple[int, dict]:
        out = self._post('/emit-label', {'uri': uri, 'val': val, **extra})
        entry = (out['seq'], out['label'])
        self.emitted.append(entry)
        return entry

    def emit_many(self, labels: t.List[dict]) -> t.List[t.Tuple[int, dict]]:
        out = self._post('/emit-labels', {'labels': labels})
        entries = [(item['seq'], item['label']) for item in out['labels']]
        assert len(entries) == len(labels)
        self.emitted.extend(entries)
        return entries

    def latest_state(self) -> t.Dict[tuple, dict]:
        state: t.Dict[tuple, t.Tuple[int, dict]] = {}
        for seq, label in self.emitted:
            key = label_key(label)
            if key not in state or state[key][0] < seq:
                state[key] = (seq, label)
        return {k: v[1] for k, v in state.items()}

    def close(self) -> None:
        try:
            self.http.close()
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
            self._log.close()
            shutil.rmtree(self.data_dir, ignore_errors=True)


def emit_corpus(lab: Labeler) -> None:
    """~30 labels: record and account subjects, a cid-pinned label, an expiring label,
    negations, a re-application after negation and a plain re-emission."""
    lab.emit_many([{'uri': post(ALICE, f'3kalice{i}'), 'val': 'spam'} for i in range(10)])
    lab.emit_many([{'uri': post(BOB, '3kbob0'), 'val': v} for v in ('porn', 'nudity', 'sexual', 'graphic-media')])
    lab.emit(CAROL, 'bot')  # account subject: the bare DID
    lab.emit(CAROL, '!hide')
    lab.emit(post(ALICE, '3kalice0'), 'spam', cid=fake_cid('3kalice0'))
    lab.emit(f'at://{BOB}/app.bsky.actor.profile/self', 'rude', exp=now_plus(days=1))
    lab.emit_many([{'uri': f'at://{DAVE}/app.bsky.graph.list/3kdave{i}', 'val': 'misleading'} for i in range(3)])
    for i in range(3):
        lab.emit(post(ALICE, f'3kalice{i}'), 'spam', neg=True)
    lab.emit(post(BOB, '3kbob0'), 'nudity', neg=True)
    lab.emit(CAROL, '!hide', neg=True)
    lab.emit(post(ALICE, '3kalice1'), 'spam')  # re-applied after its negation
    lab.emit(post(BOB, '3kbob0'), 'porn')  # emitted again: the newer one is the state
    lab.emit_many([
        {'uri': post(DAVE, '3kdave9'), 'val': 'spam'},
        {'uri': post(DAVE, '3kdave9'), 'val': 'spam', 'neg': True},  # negated in the same batch
    ])
    lab.emit(post(CAROL, '3kcarol0'), 'graphic-media', cid=fake_cid('3kcarol0'))
    lab.emit(post(CAROL, '3kcarol0'), 'graphic-media', neg=True)  # cid-less negation: a different key


@pytest.fixture(scope='module')
def labeler() -> t.Iterator[Labeler]:
    lab = Labeler()
    try:
        emit_corpus(lab)
        yield lab
    finally:
        lab.close()


def sdk_query_labels(
    client: Client, uri_patterns: t.List[str], limit: int, sources: t.Optional[t.List[str]] = None,
) -> t.Tuple[t.List[dict], t.List[models.ComAtprotoLabelDefs.Label], int]:
    """Page through queryLabels with the SDK until there is no cursor.

    Returns the raw JSON labels, the SDK Label models and the number of pages."""
    raw_labels: t.List[dict] = []
    sdk_labels: t.List[models.ComAtprotoLabelDefs.Label] = []
    cursor = None
    pages = 0
    while True:
        pages += 1
        assert pages <= 200, 'queryLabels pagination does not terminate'
        params = models.ComAtprotoLabelQueryLabels.Params(
            uri_patterns=uri_patterns, limit=limit, cursor=cursor, sources=sources,
        )
        # Quirk: client.com.atproto.label.query_labels(params) fails model validation on `$bytes`.
        response = client.invoke_query('com.atproto.label.queryLabels', params=params)
        assert response.success and isinstance(response.content, dict), response
        content = response.content
        page = content['labels']
        assert len(page) <= limit, f'page of {len(page)} labels exceeds limit {limit}'
        converted = dict(content, labels=[json_label_to_sdk(label) for label in page])
        model = get_or_create(converted, models.ComAtprotoLabelQueryLabels.Response, strict=True)
        assert isinstance(model, models.ComAtprotoLabelQueryLabels.Response)
        raw_labels.extend(page)
        sdk_labels.extend(model.labels)
        if not model.cursor:
            return raw_labels, sdk_labels, pages
        assert page, f'empty page but cursor {model.cursor!r}: a loop-until-no-cursor client never stops'
        cursor = model.cursor


def test_query_labels_pages_and_signatures(labeler: Labeler) -> None:
    client = Client(base_url=labeler.base)
    expected = labeler.latest_state()
    assert len(labeler.emitted) >= 30
    assert labeler.did.startswith('did:key:z'), labeler.did

    limit = 4
    raw, sdk_labels, pages = sdk_query_labels(client, ['*'], limit)
    assert pages >= len(expected) // limit

    keys = [label_key(label) for label in raw]
    dupes = {k for k in keys if keys.count(k) > 1}
    assert not dupes, f'labels returned more than once across pages: {dupes}'
    assert set(keys) == set(expected), (
        f'missing: {set(expected) - set(keys)}; unexpected: {set(keys) - set(expected)}')
    for label in raw:
        assert label == expected[label_key(label)], f'not the latest state:\n got {label}\nwant {expected[label_key(label)]}'
        assert label['ver'] == 1 and label['src'] == labeler.did
        assert 'neg' not in label or label['neg'] is True, f'neg:false must be omitted: {label}'
        sig_text = label['sig']['$bytes']
        assert '=' not in sig_text and len(sig_text) == 86, f'sig should be unpadded base64 of 64 bytes: {sig_text}'

    # What the labeler is expected to keep: negations and pinned/expiring labels are there.
    by_key = {label_key(label): label for label in raw}
    assert by_key[(labeler.did, post(ALICE, '3kalice0'), None, 'spam')].get('neg') is True
    assert 'neg' not in by_key[(labeler.did, post(ALICE, '3kalice1'), None, 'spam')]
    assert 'neg' not in by_key[(labeler.did, post(ALICE, '3kalice0'), fake_cid('3kalice0'), 'spam')]
    assert by_key[(labeler.did, f'at://{BOB}/app.bsky.actor.profile/self', None, 'rude')]['exp']
    assert by_key[(labeler.did, CAROL, None, '!hide')].get('neg') is True

    # Every signature verifies with the SDK's crypto against the did:key the labeler is.
    assert len(sdk_labels) == len(raw)
    for label, raw_label in zip(sdk_labels, raw):
        assert label_model_fields(label) == json_label_to_sdk(raw_label), 'the SDK model lost or changed a field'
        assert verify_label(label, labeler.did), f'signature does not verify: {raw_label}'
    # Negative controls: a changed value or a different key must not verify.
    positive = next(label for label in sdk_labels if label.neg is None)
    assert not verify_label(positive.model_copy(update={'val': positive.val + 'x'}), labeler.did)
    with_neg_false = label_model_fields(positive) | {'neg': False}
    assert not verify_signature(labeler.did, unsigned_cbor(with_neg_false), positive.sig)
    other_key = 'did:key:zQ3shcnfWLQN1bY4d2patsEAYFzy4xp1zdckEvHsV7S4ocTnC'  # protocol doc V1
    assert not verify_label(positive, other_key)

    # The same through the SDK with other filters.
    prefix = f'at://{ALICE}/'
    raw_alice, _, _ = sdk_query_labels(client, [prefix + '*'], 3)
    assert {label_key(x) for x in raw_alice} == {k for k in expected if k[1].startswith(prefix)}
    raw_carol, _, _ = sdk_query_labels(client, [CAROL], 50)
    assert {label_key(x) for x in raw_carol} == {k for k in expected if k[1] == CAROL}
    raw_two, _, _ = sdk_query_labels(client, [CAROL, post(BOB, '3kbob0')], 2)
    assert {label_key(x) for x in raw_two} == {k for k in expected if k[1] in (CAROL, post(BOB, '3kbob0'))}
    raw_src, _, _ = sdk_query_labels(client, ['*'], 250, sources=[labeler.did])
    assert {label_key(x) for x in raw_src} == set(expected)
    raw_none, _, _ = sdk_query_labels(client, ['*'], 250, sources=[OTHER])
    assert raw_none == []


class CollectingLabelsClient(FirehoseSubscribeLabelsClient):
    """The SDK's label firehose client, run on a thread, collecting every message."""

    def __init__(self, ws_base: str, cursor: t.Optional[int]) -> None:
        params = {'cursor': cursor} if cursor is not None else None
        super().__init__(params=params, base_uri=ws_base, recv_timeout=STREAM_TIMEOUT * 2)
        self.connections = 0
        self.frames: t.List[t.Any] = []  # MessageFrame, body as decoded DAG-CBOR
        self.messages: t.List[t.Any] = []  # parsed SDK models
        self.callback_errors: t.List[BaseException] = []
        self.error: t.Optional[BaseException] = None
        self.finished = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name='labels-firehose', daemon=True)

    def _before_connect(self) -> None:  # SDK hook, called before every (re)connection
        self.connections += 1

    def _on_message(self, frame: t.Any) -> None:
        model = parse_subscribe_labels_message(frame)
        with self._cond:
            self.frames.append(frame)
            self.messages.append(model)
            self._cond.notify_all()

    def _on_callback_error(self, error: BaseException) -> None:
        with self._cond:
            self.callback_errors.append(error)
            self._cond.notify_all()

    def _run(self) -> None:
        try:
            self.start(self._on_message, self._on_callback_error)
        except BaseException as e:  # noqa: BLE001 - reported to the test thread
            self.error = e
        finally:
            with self._cond:
                self.finished = True
                self._cond.notify_all()

    def run_in_background(self) -> 'CollectingLabelsClient':
        self._thread.start()
        return self

    def wait_until(self, predicate: t.Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                if self.callback_errors:
                    raise AssertionError(f'message callback failed: {self.callback_errors!r}')
                if self.finished:
                    raise AssertionError(f'subscription ended before {what}: error={self.error!r}')
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f'timed out after {timeout}s waiting for {what}; seqs so far: {self.seqs()}')
                self._cond.wait(left)

    def seqs(self) -> t.List[int]:
        return [m.seq for m in self.messages if isinstance(m, models.ComAtprotoLabelSubscribeLabels.Labels)]

    def stop_and_join(self) -> None:
        self.stop()
        self._thread.join(10)
        assert not self._thread.is_alive(), 'subscription client did not stop within 10 s'
        assert self.error is None, f'subscription client failed: {self.error!r}'
        assert not self.callback_errors, self.callback_errors
        assert self.connections == 1, f'the SDK reconnected ({self.connections} connections): replays would duplicate'


def check_stream_messages(client: CollectingLabelsClient, lab: Labeler, did_key: str) -> None:
    by_seq = dict(lab.emitted)
    seqs = client.seqs()
    assert all(a < b for a, b in zip(seqs, seqs[1:])), f'seqs not strictly increasing: {seqs}'
    infos = [m for m in client.messages if not isinstance(m, models.ComAtprotoLabelSubscribeLabels.Labels)]
    assert not infos, f'unexpected #info messages: {infos}'
    for frame, message in zip(client.frames, client.messages):
        assert frame.type == '#labels'
        assert set(frame.body) == {'seq', 'labels'}, f'unexpected body fields: {frame.body}'
        assert message.seq in by_seq, f'seq {message.seq} was never emitted'
        assert len(message.labels) == 1, f'seq {message.seq} carries {len(message.labels)} labels'
        raw = frame.body['labels'][0]
        assert isinstance(raw['sig'], bytes), 'CBOR sig must be a byte string'
        assert raw == json_label_to_sdk(by_seq[message.seq]), (
            f'stream label at seq {message.seq} differs from the emitted one:\n{raw}\n{by_seq[message.seq]}')
        label = message.labels[0]
        assert label_model_fields(label) == raw
        assert verify_label(label, did_key), f'signature does not verify at seq {message.seq}: {raw}'


def test_subscribe_labels_backfill_then_live(labeler: Labeler) -> None:
    emitted_seqs = [seq for seq, _ in labeler.emitted]
    assert len(emitted_seqs) == len(set(emitted_seqs))
    client = CollectingLabelsClient(labeler.ws_base, cursor=0).run_in_background()
    try:
        want = set(emitted_seqs)
        client.wait_until(lambda: want <= set(client.seqs()), STREAM_TIMEOUT, f'all {len(want)} emitted seqs')
        backfill = client.seqs()
        assert len(backfill) == len(set(backfill)), f'duplicate seqs: {backfill}'
        assert set(backfill) == want, f'stream has seqs that were not emitted: {set(backfill) - want}'

        live_seq, _ = labeler.emit(post(DAVE, '3kdavelive'), 'spam')
        assert live_seq > max(backfill)
        client.wait_until(lambda: live_seq in client.seqs(), STREAM_TIMEOUT, f'live seq {live_seq}')
        check_stream_messages(client, labeler, labeler.did)
        assert client.seqs()[-1] == live_seq
    finally:
        client.stop_and_join()


def test_subscribe_labels_from_mid_cursor(labeler: Labeler) -> None:
    seqs = sorted(seq for seq, _ in labeler.emitted)
    middle = seqs[len(seqs) // 2]
    want = [s for s in seqs if s > middle]
    client = CollectingLabelsClient(labeler.ws_base, cursor=middle).run_in_background()
    try:
        client.wait_until(lambda: set(want) <= set(client.seqs()), STREAM_TIMEOUT, f'seqs after {middle}')
        # Replay is strictly after the cursor ("last known seq").
        assert client.seqs() == want
        check_stream_messages(client, labeler, labeler.did)
    finally:
        client.stop_and_join()


def test_subscribe_labels_cursor_at_head_is_live(labeler: Labeler) -> None:
    head = labeler.head()
    client = CollectingLabelsClient(labeler.ws_base, cursor=head).run_in_background()
    try:
        time.sleep(0.5)  # let it connect; the cursor equal to the head is not in the future
        assert client.error is None and not client.finished
        seq, _ = labeler.emit(post(DAVE, '3kdavehead'), 'spam')
        client.wait_until(lambda: seq in client.seqs(), STREAM_TIMEOUT, f'live seq {seq}')
        assert client.seqs() == [s for s, _ in labeler.emitted if s > head]
        check_stream_messages(client, labeler, labeler.did)
    finally:
        client.stop_and_join()


def test_future_cursor_sdk(labeler: Labeler) -> None:
    head = labeler.head()
    client = CollectingLabelsClient(labeler.ws_base, cursor=head + 1000).run_in_background()
    try:
        client.wait_until(lambda: client.finished, STREAM_TIMEOUT, 'the FutureCursor error')
    finally:
        client.stop()
    # The SDK raises SubscriptionError(XrpcError(error, message)) out of start() on an error frame.
    assert isinstance(client.error, SubscriptionError), f'expected SubscriptionError, got {client.error!r}'
    xrpc_error = client.error.args[0]
    assert getattr(xrpc_error, 'error', None) == 'FutureCursor', repr(client.error)
    assert client.messages == []
    assert client.connections == 1


def test_future_cursor_raw_frame(labeler: Labeler) -> None:
    head = labeler.head()
    url = f'{labeler.ws_base}/com.atproto.label.subscribeLabels?cursor={head + 1}'
    with ws_connect(url, open_timeout=10, close_timeout=2) as ws:
        frame = ws.recv(timeout=STREAM_TIMEOUT)
        assert isinstance(frame, bytes), 'frames must be binary'
        parts = libipld.decode_dag_cbor_multi(frame)
        assert len(parts) == 2, parts
        header, body = parts
        assert header == {'op': -1}, header
        assert body.get('error') == 'FutureCursor', body
        assert set(body) <= {'error', 'message'}, body
        # Canonical bytes: header a1 62 6f 70 20 (protocol doc 5.2).
        assert frame.startswith(bytes.fromhex('a1626f7020'))
        # The stream is closed right after the error frame.
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)


class LocalDidWebResolver(DidWebResolver):
    """SDK resolver for `did:web:localhost%3A<port>` served over plain HTTP.

    Quirk: the SDK builds `https://<host>/.well-known/did.json` without percent-decoding the host."""

    @staticmethod
    def _parse_web_did(did: str) -> str:
        host = urllib.parse.unquote(did.split(':', 2)[2])
        assert host.startswith(('localhost:', '127.0.0.1:')), host
        return f'http://{host}/.well-known/did.json'


def test_did_web_document_key_verifies_labels() -> None:
    port = free_port()
    did = f'did:web:localhost%3A{port}'
    lab = Labeler(env_extra={'LABELER_DID': did, 'LABELER_PUBLIC_URL': f'http://localhost:{port}'}, port=port)
    try:
        assert lab.did == did
        doc = LocalDidWebResolver(timeout=10).resolve(did)  # validates doc.id == did
        assert doc is not None and doc.id == did

        label_methods = [m for m in doc.verification_method or [] if m.id in ('#atproto_label', f'{did}#atproto_label')]
        assert len(label_methods) == 1, doc.verification_method
        method = label_methods[0]
        assert method.type == 'Multikey' and method.controller == did
        assert method.public_key_multibase and method.public_key_multibase.startswith('zQ3s')
        did_key = get_did_key(method.type, method.public_key_multibase)
        assert did_key and did_key.startswith('did:key:zQ3s')
        assert doc.get_service_endpoint('#atproto_labeler', 'AtprotoLabeler') == f'http://localhost:{port}'

        lab.emit(post(ALICE, '3kweb0'), 'spam')
        lab.emit(ALICE, 'bot', exp=now_plus(hours=2))
        lab.emit(post(ALICE, '3kweb0'), 'spam', neg=True)
        lab.emit(post(ALICE, '3kweb1'), 'porn', cid=fake_cid('3kweb1'))

        raw, sdk_labels, _ = sdk_query_labels(Client(base_url=lab.base), ['*'], 2)
        assert {label_key(x) for x in raw} == set(lab.latest_state())
        for label, raw_label in zip(sdk_labels, raw):
            assert raw_label == lab.latest_state()[label_key(raw_label)]
            assert label.src == did
            assert verify_label(label, did_key), raw_label

        client = CollectingLabelsClient(lab.ws_base, cursor=0).run_in_background()
        try:
            want = {seq for seq, _ in lab.emitted}
            client.wait_until(lambda: want <= set(client.seqs()), STREAM_TIMEOUT, 'all emitted seqs')
            check_stream_messages(client, lab, did_key)
        finally:
            client.stop_and_join()
    finally:
        lab.close()
