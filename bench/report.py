#!/usr/bin/env python3
"""Turns one GPU run's JMH JSON and PyTorch peer JSONL into the markdown table committed under bench/results/:
time, achieved TFLOP/s and % of the GPU's peak, and the ratio to the peer measured in the same run.
    python3 bench/report.py jmh.json peer.jsonl gpu.txt > report.md
"""
import json
import sys

# Dense tensor-core peaks (TFLOP/s) by GPU name fragment: NVIDIA's datasheet figures for SXM parts.
PEAKS = {"H200": {"BF16": 989.0, "F32": 494.7}, "H100": {"BF16": 989.0, "F32": 494.7},
         "A100": {"BF16": 312.0, "F32": 156.0}}


def flops(shape):
    b, k, dt, ds = (int(v) for v in shape.split("x"))
    return 2.0 * b * k * (dt + ds) + 4.0 * b * k * ds


def main(jmh_path, peer_path, gpu_path):
    gpu = open(gpu_path).read() if gpu_path else ""
    peak = next((v for name, v in PEAKS.items() if name in gpu), None)
    ours = json.load(open(jmh_path))
    peer = {}
    for line in open(peer_path):
        line = line.strip()
        if line.startswith("{"):
            rec = json.loads(line)
            if "us" in rec:
                peer[(rec["work"], rec["variant"], rec["shape"])] = rec
    print("| work | shape BxKxDtxDs | ours | us | TFLOP/s | % peak | torch.compile us | eager TF32 us | speed-up vs best peer |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in ours:
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
    enq = [v for k, v in peer.items() if k[0] == "enqueue"]
    if enq:
        print(f"\nPyTorch enqueue (eager, {enq[0]['shape']}): {enq[0]['us']:.1f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None))
