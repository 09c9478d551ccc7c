#!/usr/bin/env python3
"""Samples processes from /proc while a benchmark runs (bench/README.md).

    procmon.py --out FILE.json --interval 0.2 NAME=PID [NAME=PID ...]

Every INTERVAL seconds: VmRSS, RssAnon (heap etc.), RssFile (mapped files: LMDB's map) and
VmHWM from /proc/PID/status, utime+stime from /proc/PID/stat,
and the whole machine's busy time from /proc/stat (the summary gives it in % of one core, so
200 = both cores of this machine, and what the sampled processes did not use: other load). Runs until SIGTERM/SIGINT (or until every
process has exited), then writes a JSON summary to FILE.json (per process: RSS and RssAnon at
start, peak sampled and at end, VmHWM, CPU % of one core over the sampled period) and the samples to
FILE.json's name with .csv.
"""
import argparse
import json
import os
import signal
import time

TICK = os.sysconf("SC_CLK_TCK")


def rss_kb(pid):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:", "RssAnon:", "RssFile:", "Threads:")):
                    k, v = line.split(":", 1)
                    out[k] = int(v.split()[0])
    except FileNotFoundError:
        return None
    return out


def cpu_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except FileNotFoundError:
        return None
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def machine():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v), idle


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("procs", nargs="+")
    a = ap.parse_args()
    procs = [(n, int(p)) for n, p in (x.split("=") for x in a.procs)]
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    t0 = time.monotonic()
    m0 = machine()
    first = {n: (rss_kb(p), cpu_ticks(p)) for n, p in procs}
    last = dict(first)
    peak = {n: (first[n][0] or {}).get("VmRSS", 0) for n, _ in procs}
    peak_anon = {n: (first[n][0] or {}).get("RssAnon", 0) for n, _ in procs}
    rows = []
    while not stop:
        time.sleep(a.interval)
        t = time.monotonic() - t0
        alive = 0
        row = ["%.2f" % t]
        for n, p in procs:
            r, c = rss_kb(p), cpu_ticks(p)
            if r is None:
                row += ["", "", ""]
                continue
            alive += 1
            last[n] = (r, c)
            peak[n] = max(peak[n], r.get("VmRSS", 0))
            peak_anon[n] = max(peak_anon[n], r.get("RssAnon", 0))
            row += [str(r.get("VmRSS", 0)), str(r.get("RssAnon", 0)), str(c)]
        rows.append(row)
        if not alive:
            break
    t1 = time.monotonic()
    m1 = machine()
    wall = t1 - t0
    machine_pct = 100 * os.cpu_count() * (1 - (m1[1] - m0[1]) / max(1, m1[0] - m0[0]))
    summary = {"wall_s": round(wall, 2),
               "machine_cpu_pct_of_one_core": round(machine_pct, 1),  # 100 × cores = every core busy
               "processes": {}}
    for n, p in procs:
        (r0, c0), (r1, c1) = first[n], last[n]
        summary["processes"][n] = {
            "pid": p,
            "rss_start_mb": round((r0 or {}).get("VmRSS", 0) / 1024, 1),
            "rss_peak_sampled_mb": round(peak[n] / 1024, 1),
            "rss_end_mb": round((r1 or {}).get("VmRSS", 0) / 1024, 1),
            "rss_anon_start_mb": round((r0 or {}).get("RssAnon", 0) / 1024, 1),
            "rss_anon_peak_sampled_mb": round(peak_anon[n] / 1024, 1),
            "rss_anon_end_mb": round((r1 or {}).get("RssAnon", 0) / 1024, 1),
            "rss_file_end_mb": round((r1 or {}).get("RssFile", 0) / 1024, 1),
            "vmhwm_mb": round((r1 or {}).get("VmHWM", 0) / 1024, 1),
            "threads": (r1 or {}).get("Threads"),
            "cpu_pct_of_one_core": round(100 * ((c1 or 0) - (c0 or 0)) / TICK / wall, 1) if c0 is not None else None,
        }
    tracked = sum(p["cpu_pct_of_one_core"] or 0 for p in summary["processes"].values())
    summary["untracked_cpu_pct_of_one_core"] = round(machine_pct - tracked, 1)  # other processes (and the kernel's share not charged to them)
    with open(a.out, "w") as f:
        json.dump(summary, f, indent=1)
    with open(os.path.splitext(a.out)[0] + ".csv", "w") as f:
        f.write(",".join(["t_s"] + [x for n, _ in procs for x in (n + "_rss_kb", n + "_rss_anon_kb", n + "_cpu_ticks")]) + "\n")
        for r in rows:
            f.write(",".join(r) + "\n")


if __name__ == "__main__":
    main()
