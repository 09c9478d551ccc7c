#!/usr/bin/env python3
"""Joins the emitter's acknowledgements (emitter.py CSV) with the subscribers' receive times
(wsclient live .bin) and prints delivery-latency percentiles as one JSON line.

    live_analyze.py EMITS.csv RECV.bin [RECV2.bin ...]

Latency of one label at one subscriber = time the subscriber read the frame − time emit-label
acknowledged that label (`from_ack`); also given from the moment the emit request was sent
(`from_send`, which includes the emit's durable commit). A frame can be read before the emitter
has read its HTTP answer, so `from_ack` can be negative when answers queue behind stream writes.
`from_first_delivery` is the time after the first subscriber got the same label (the fan-out's
spread, a lower bound of commit → delivery). Needs numpy.
"""
import json
import sys

import numpy as np


def load_bin(path):
    with open(path, "rb") as f:
        hdr = f.read(32)
        assert hdr[:8] == b"WSLIVE01", "not a wsclient live file"
        n, count = np.frombuffer(hdr[8:16], dtype=np.uint32)
        base, t0 = np.frombuffer(hdr[16:32], dtype=np.uint64)
        times = np.fromfile(f, dtype=np.uint64, count=int(n) * int(count)).reshape(int(count), int(n))
    return int(base), times


def pct(x, ps=(50, 90, 99, 99.9)):
    out = {("p%g" % p): round(float(v), 2) for p, v in zip(ps, np.percentile(x, ps))}
    out["max"] = round(float(x.max()), 2)
    out["mean"] = round(float(x.mean()), 2)
    return out


def main():
    emits = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1, dtype=np.int64, ndmin=2)
    seq, t_send, t_ack = emits[:, 0], emits[:, 2], emits[:, 3]
    mats = [load_bin(p) for p in sys.argv[2:]]
    base = mats[0][0]
    assert all(b == base for b, _ in mats), "the receive files disagree on the base seq"
    recv = np.concatenate([m for _, m in mats], axis=1).astype(np.int64)  # [seq - base, subscriber]
    subs = recv.shape[1]
    idx = seq - base
    ok = (idx >= 0) & (idx < recv.shape[0])
    rows = recv[idx[ok]]
    got = rows > 0
    delivered = int(got.sum())
    expected = int(ok.sum()) * subs
    lat_ack = ((rows - t_ack[ok][:, None]) / 1000.0)[got]
    lat_send = ((rows - t_send[ok][:, None]) / 1000.0)[got]
    # Spread of the fan-out: receive time − the first receive of the same label by any subscriber.
    first = np.where(got, rows, np.iinfo(np.int64).max).min(axis=1)
    lat_first = ((rows - first[:, None]) / 1000.0)[got]
    # Per-second view: p99 from ack over the labels acknowledged in each second of the run.
    t_rel = (t_ack[ok] - t_ack[ok].min()) / 1e6
    per_sec = []
    lat_rows = np.where(got, (rows - t_ack[ok][:, None]) / 1000.0, np.nan)
    for s in range(int(t_rel.max()) + 1):
        sel = (t_rel >= s) & (t_rel < s + 1)
        if sel.any():
            v = lat_rows[sel]
            v = v[~np.isnan(v)]
            if v.size:
                per_sec.append([s, round(float(np.percentile(v, 50)), 1), round(float(np.percentile(v, 99)), 1),
                                round(float(v.max()), 1)])
    # Spread between subscribers: each subscriber's p99.
    sub_p99 = [float(np.percentile(((recv[idx[ok], j] - t_ack[ok]) / 1000.0)[got[:, j]], 99))
               for j in range(subs) if got[:, j].any()]
    print(json.dumps({
        "mode": "live-analysis", "subscribers": subs, "labels": int(ok.sum()),
        "deliveries": delivered, "expected_deliveries": expected, "missing": expected - delivered,
        "latency_ms_from_ack": pct(lat_ack), "latency_ms_from_send": pct(lat_send),
        "latency_ms_from_first_delivery": pct(lat_first),
        "subscriber_p99_ms": {"min": round(min(sub_p99), 2), "median": round(float(np.median(sub_p99)), 2),
                              "max": round(max(sub_p99), 2)} if sub_p99 else None,
        "per_second_from_ack_ms [s, p50, p99, max]": per_sec,
    }))


if __name__ == "__main__":
    main()
