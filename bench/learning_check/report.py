#!/usr/bin/env python3
"""Summarises a learning-check run (bench/learning_check/run.sh): mean and sample standard deviation over seeds of
k-NN top-1 (%) per side, stage and representation, and how far training moved it (trained - random, per seed, then
mean +- sd). Markdown on stdout.   Usage: report.py bench/results/<date>-learning-check.jsonl"""
import collections
import json
import statistics
import sys


def fmt(v):
    if not v:
        return "-"
    m = statistics.mean(v)
    return f"{m:.1f} ± {statistics.stdev(v):.1f}" if len(v) > 1 else f"{m:.1f}"


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    head = [r for r in rows if "side" not in r]
    runs = [r for r in rows if "side" in r]
    acc = collections.defaultdict(dict)  # (side, rep, k) -> {stage: {seed: %}}
    for r in runs:
        for rep, by_k in r["knn_top1"].items():
            for k, a in by_k.items():
                acc[(r["side"], rep, str(k))].setdefault(r["stage"], {})[r["seed"]] = 100 * a
    seeds = sorted({r["seed"] for r in runs})
    print(f"Seeds {seeds}; test images {sorted({r.get('test_images', 10000) for r in runs})}; {head[0] if head else ''}\n")
    print("| representation | k | side | random init | trained | moved (trained - random) |")
    print("|---|---|---|---|---|---|")
    for (side, rep, k) in sorted(acc, key=lambda t: (t[1] != "pixels", t[1], t[2], t[0])):
        st = acc[(side, rep, k)]
        rnd, trn = st.get("random", {}), st.get("trained", {})
        moved = [trn[s] - rnd[s] for s in seeds if s in trn and s in rnd]
        print(f"| {rep} | {k} | {side} | {fmt(list(rnd.values()))} | {fmt(list(trn.values()))} | {fmt(moved)} |")
    secs = collections.defaultdict(list)
    for r in runs:
        secs[(r["side"], r["stage"])].append(r["seconds"])
    print("\nSeconds per run (mean): " + ", ".join(f"{s} {st} {statistics.mean(v):.0f}" for (s, st), v in sorted(secs.items())))
    print("Load before each run: " + ", ".join(sorted({r.get('load_before', '?') for r in runs})))


if __name__ == "__main__":
    main()
