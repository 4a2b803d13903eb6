#!/usr/bin/env python3
"""Turns one GPU run's JMH JSON and PyTorch peer JSONL into the markdown tables committed under bench/results/:
time, achieved TFLOP/s and % of the GPU's peak, and the ratio to the peer measured in the same run; and the
ResNet step table (ResNetStepBenchmark's ms/op as img/s beside resnet_peer.py's, with issue 4's targets).
Several JMH files may be given, comma-separated.
    python3 bench/report.py jmh.json[,jmh-resnet.json] peer.jsonl gpu.txt > report.md
With --cpu DIR it prints the CPU table of scripts/cpu-bench.sh instead: DIR holds round-by-round JMH results
(ours-rN.json: CpuStepBenchmark, CpuLossBenchmark) and PyTorch peer results (peer-rN.jsonl: bench/peer/cpu_peer.py), run
alternating; each row gives img/s (or queries/s) of both per round, the per-round ratio and the median ratio.
    python3 bench/report.py --cpu bench/results/cpu-run > table.md
"""
import json
import os
import sys

# Dense tensor-core peaks (TFLOP/s) by GPU name fragment: NVIDIA's datasheet figures for SXM parts.
PEAKS = {"H200": {"BF16": 989.0, "F32": 494.7}, "H100": {"BF16": 989.0, "F32": 494.7},
         "A100": {"BF16": 312.0, "F32": 156.0}}


# Issue 4's targets (H100, PyTorch measured in the same call): img/s per (model, mode, precision).
RESNET_TARGETS = {("resnet18", "train", "BF16_MIXED"): 12127, ("resnet18", "train", "FP32"): 3060,
                  ("resnet50", "infer", "BF16_MIXED"): 12757}
# The peer variant doing the same math as the engine's precision, and PyTorch's FP32 default (TF32 convolutions).
RESNET_PEER = {"BF16_MIXED": "bf16_channels_last", "FP32": "fp32"}


def flops(shape):
    b, k, dt, ds = (int(v) for v in shape.split("x"))
    return 2.0 * b * k * (dt + ds) + 4.0 * b * k * ds


def main(jmh_path, peer_path, gpu_path):
    gpu = open(gpu_path).read() if gpu_path else ""
    peak = next((v for name, v in PEAKS.items() if name in gpu), None)
    ours = []
    for path in jmh_path.split(","):
        if os.path.exists(path):
            ours += json.load(open(path))
        else:  # a JMH call that failed early: report the rest
            print(f"(no JMH results at {path})\n")
    peer, resnet_peer = {}, {}
    for line in open(peer_path):
        line = line.strip()
        if line.startswith("{"):
            rec = json.loads(line)
            if "us" in rec:
                peer[(rec["work"], rec["variant"], rec["shape"])] = rec
            elif rec.get("work") == "resnet_step" and "model" in rec:
                resnet_peer[(rec["model"], rec["mode"], rec["variant"], rec.get("batch"), rec.get("size"))] = rec
    loss_rows = [r for r in ours if r["benchmark"].rsplit(".", 2)[-2] != "ResNetStepBenchmark"]
    if loss_rows:
        print("| work | shape BxKxDtxDs | ours | us | TFLOP/s | % peak | torch.compile us | eager TF32 us | speed-up vs best peer |")
        print("|---|---|---|---|---|---|---|---|---|")
    for r in loss_rows:
        name = r["benchmark"].rsplit(".", 2)[-2]
        params = r.get("params", {})
        us = r["primaryMetric"]["score"]
        if name == "CompressLossBenchmark":
            shape = params["shape"]
            tf = flops(shape) / (us * 1e-6) / 1e12
            pk = f"{100 * tf / peak[params['bank']]:.0f}%" if peak else "n/a"
            comp = peer.get(("compress_loss_fwd_bwd", "compile_tf32", shape), {}).get("us")
            eager = peer.get(("compress_loss_fwd_bwd", "eager_tf32", shape), {}).get("us")
            best = min([v for v in (comp, eager) if v] or [None]) if (comp or eager) else None
            ratio = f"{best / us:.1f}x" if best else "n/a"
            print(f"| compress loss fwd+bwd | {shape} | {params['path']} {params['bank']} bank | {us:.1f} | {tf:.1f} | {pk} | "
                  f"{comp and f'{comp:.1f}' or 'n/a'} | {eager and f'{eager:.1f}' or 'n/a'} | {ratio} |")
        else:
            desc = " ".join(f"{k}={v}" for k, v in params.items() if k != "backend")
            print(f"| {name} | {desc} | | {us:.2f} | | | | | |")
    resnet_table([r for r in ours if r["benchmark"].rsplit(".", 2)[-2] == "ResNetStepBenchmark"], resnet_peer)
    enq = [v for k, v in peer.items() if k[0] == "enqueue"]
    if enq:
        print(f"\nPyTorch enqueue (eager, {enq[0]['shape']}): {enq[0]['us']:.1f} us")
    return 0


def to_ms(score, unit):
    return score * {"ms/op": 1.0, "us/op": 1e-3, "s/op": 1e3, "ns/op": 1e-6}[unit]


def resnet_table(rows, peer):
    """ResNet steps: ours in img/s = batch / step time, the peer doing the same math, the ratio, the target."""
    if not rows:
        return
    print("\n| model | step | precision | format | batch x px | ours ms | ours img/s | PyTorch img/s (same math) | ours / PyTorch "
          "| PyTorch FP32 default (TF32) img/s | issue 4 target img/s | meets target |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        p = r.get("params", {})
        model, mode, prec, batch, size = p["model"], p["mode"], p["precision"], int(p["batch"]), int(p["size"])
        ms = to_ms(r["primaryMetric"]["score"], r["primaryMetric"]["scoreUnit"])
        ours = batch / (ms / 1000.0)
        same = peer.get((model, mode, RESNET_PEER.get(prec, ""), batch, size), {}).get("img_s")
        tf32 = peer.get((model, mode, "fp32_tf32", batch, size), {}).get("img_s") if prec == "FP32" else None
        target = RESNET_TARGETS.get((model, mode, prec)) if (batch, size) == (256, 224) else None
        # The bar: at least PyTorch measured in the same call (its figure when no peer ran).
        bar = same if same else target
        meets = "n/a" if not bar else ("yes" if ours >= bar else "no")
        layout = p.get("format", "auto")
        if layout == "auto":  # ResNetStepBenchmark's rule
            layout = "CHANNELS_LAST" if prec == "BF16_MIXED" and p.get("backend", "cuda").startswith("cuda") else "CONTIGUOUS"
        print(f"| {model} | {mode} | {prec} | {layout} | {batch} x {size} | {ms:.2f} | {ours:,.0f} | "
              f"{f'{same:,.0f}' if same else 'n/a'} | {f'{ours / same:.2f}x' if same else 'n/a'} | "
              f"{f'{tf32:,.0f}' if tf32 else '-'} | {f'{target:,}' if target else '-'} | {meets} |")


CPU_TARGETS = {16: 1.5}   # issue 9: >= 1.0x PyTorch everywhere, 1.5x at base width 16


def cpu_key_ours(r):
    name = r["benchmark"].rsplit(".", 2)[-2]
    p = r.get("params", {})
    if name == "CpuStepBenchmark":
        arch = p.get("arch", "resnet18")
        return (arch, f"width {p['width'] if arch == 'resnet18' else '1.0'}", p["input"], p["mode"]), int(p["batch"])
    return (p["work"], CPU_LOSS_SHAPES[p["work"]][0], "", "step"), CPU_LOSS_SHAPES[p["work"]][1]


# CpuLossBenchmark's works: the shape and the items one call handles (embeddings of a step, k-NN queries).
CPU_LOSS_SHAPES = {"compress2q": ("B 256, 2 x 16,384 x 128 F32 banks", 256), "knn": ("10,000 x 60,000 x 128, k 20", 10_000)}


def cpu_key_peer(rec):
    if rec["work"] == "cpu_step":
        return (rec.get("arch", "resnet18"), f"width {rec['width']}", rec["input"], rec["mode"])
    return (rec["work"], CPU_LOSS_SHAPES[rec["work"]][0], "", "step")


def cpu_table(folder):
    """Ours vs PyTorch per round (alternating runs), the ratios, and their median."""
    import glob
    import re
    import statistics
    ours, peer = {}, {}
    for path in sorted(glob.glob(os.path.join(folder, "ours-*r*.json"))):
        rnd = int(re.search(r"-r(\d+)", path).group(1))
        try:
            results = json.load(open(path))
        except ValueError:   # a round stopped before JMH wrote its results
            print(f"(no JMH results in {path})\n")
            continue
        for r in results:
            key, items = cpu_key_ours(r)
            ms = to_ms(r["primaryMetric"]["score"], r["primaryMetric"]["scoreUnit"])
            ours.setdefault(key, {})[rnd] = items / (ms / 1000.0)
    for path in sorted(glob.glob(os.path.join(folder, "peer-r*.jsonl"))):
        rnd = int(re.search(r"-r(\d+)", path).group(1))
        for line in open(path):
            if line.strip().startswith("{"):
                rec = json.loads(line)
                peer.setdefault(cpu_key_peer(rec), {})[rnd] = rec["img_s"] if "img_s" in rec else rec["items_s"]
    print("| work | shape | input | step | ours per round (/s) | PyTorch per round (/s) | ratio per round | median ratio | target |")
    print("|---|---|---|---|---|---|---|---|---|")
    for key in sorted(set(ours) | set(peer), key=lambda k: (k[0], k[2], float(k[1].split()[-1]) if k[1].startswith("width") else 0, k[3])):
        o, q = ours.get(key, {}), peer.get(key, {})
        rounds = sorted(set(o) | set(q))
        ratios = [o[r] / q[r] for r in rounds if r in o and r in q and q[r] > 0]
        width = int(key[1].split()[-1]) if key[0] == "resnet18" else None
        target = CPU_TARGETS.get(width, 1.0) if key[0] == "resnet18" else 1.0 if key[0] == "mobilenetv2" else None
        med = statistics.median(ratios) if ratios else None
        fmt = lambda d: " / ".join(f"{d[r]:,.0f}" if r in d else "-" for r in rounds)
        print(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]} | {fmt(o)} | {fmt(q)} | "
              f"{' / '.join(f'{x:.2f}x' for x in ratios) or 'n/a'} | {f'{med:.2f}x' if med else 'n/a'} | "
              f"{f'>= {target:.1f}x: ' + ('yes' if med and med >= target else 'no') if target else '-'} |")
    load = os.path.join(folder, "load.txt")
    if os.path.exists(load):
        print("\nLoad (uptime) before and after each run:\n```\n" + open(load).read().strip() + "\n```")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--cpu":
        sys.exit(cpu_table(sys.argv[2]))
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None))
