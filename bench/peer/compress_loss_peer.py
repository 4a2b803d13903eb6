#!/usr/bin/env python3
"""PyTorch peer for the loss-engine benchmarks: the official CompRess formulation (two matmuls, softmax,
log_softmax, kl_div 'batchmean', backward) in eager FP32 / TF32 / BF16-autocast and torch.compile (TF32),
MoCo's queue enqueue, at the same shapes as bench/ (default, paper shapes, bank-size sweep).
Prints one JSON object per line: {"work", "variant", "shape", "us", "peak_extra_mib"}. Run on the GPU machine:
    python3 bench/peer/compress_loss_peer.py [--quick] > peer.jsonl
"""
import argparse
import json
import sys

import torch
import torch.nn.functional as F

SHAPES = ["256x128000x128x128", "256x128000x2048x512", "256x128000x2048x2048",
          "256x16384x128x128", "256x65536x128x128", "256x1048576x128x128"]


def compress_loss(s, t, queue_s, queue_t, tau):
    """The official formulation: logits against the queues, KL(p_t || p_s) with batchmean."""
    s = F.normalize(s, dim=1)
    t = F.normalize(t, dim=1)
    logit_s = torch.mm(s, queue_s.t()) / tau
    logit_t = torch.mm(t, queue_t.t()) / tau
    return F.kl_div(F.log_softmax(logit_s, dim=1), F.softmax(logit_t, dim=1), reduction="batchmean")


def time_us(fn, warmup=5, iters=20):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(iters):
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) * 1000.0)
    times.sort()
    return times[len(times) // 2]


def bench_loss(shape, variant, tau=0.04):
    b, k, dt, ds = (int(v) for v in shape.split("x"))
    dev = "cuda"
    g = torch.Generator(device=dev).manual_seed(0)
    stdv_t, stdv_s = 1.0 / (dt / 3) ** 0.5, 1.0 / (ds / 3) ** 0.5
    queue_t = (torch.rand(k, dt, device=dev, generator=g) * 2 - 1) * stdv_t
    queue_s = queue_t if shape.endswith("2048x2048") else (torch.rand(k, ds, device=dev, generator=g) * 2 - 1) * stdv_s
    t = torch.randn(b, dt, device=dev, generator=g)
    s = torch.randn(b, ds, device=dev, generator=g, requires_grad=True)
    torch.backends.cuda.matmul.allow_tf32 = variant in ("eager_tf32", "compile_tf32")
    fn = compress_loss
    if variant == "compile_tf32":
        fn = torch.compile(compress_loss)

    def step():
        if variant == "eager_bf16":
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = fn(s, t, queue_s, queue_t, tau)
        else:
            loss = fn(s, t, queue_s, queue_t, tau)
        loss.backward()
        s.grad = None

    step()
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    us = time_us(step)
    peak = (torch.cuda.max_memory_allocated() - base) / 2**20
    return {"work": "compress_loss_fwd_bwd", "variant": variant, "shape": shape, "us": us, "peak_extra_mib": peak}


def bench_enqueue(b=256, k=128000, d=128):
    queue = torch.randn(k, d, device="cuda")
    keys = torch.randn(b, d, device="cuda")
    ptr = [0]

    def step():
        p = ptr[0]
        if p + b <= k:
            queue[p:p + b] = keys
        else:  # MoCo asserts K % B == 0; the general ring buffer needs two slices
            queue[p:] = keys[:k - p]
            queue[:b - (k - p)] = keys[k - p:]
        ptr[0] = (p + b) % k

    return {"work": "enqueue", "variant": "eager_fp32", "shape": f"{b}x{k}x{d}", "us": time_us(step, 10, 100),
            "peak_extra_mib": 0.0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="default shape only")
    args = ap.parse_args()
    print(json.dumps({"peer": "pytorch", "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0),
                      "cuda": torch.version.cuda}), flush=True)
    shapes = SHAPES[:1] if args.quick else SHAPES
    for shape in shapes:
        # torch.compile costs ~a minute per shape: measured at the default and the paper's shapes, not the K sweep
        variants = ["eager_fp32", "eager_tf32", "eager_bf16"]
        if "x128000x" in shape:
            variants.append("compile_tf32")
        for variant in variants:
            try:
                print(json.dumps(bench_loss(shape, variant)), flush=True)
            except Exception as e:  # e.g. out of memory at K = 1M in eager FP32: report, keep going
                print(json.dumps({"work": "compress_loss_fwd_bwd", "variant": variant, "shape": shape,
                                  "error": str(e).splitlines()[0]}), flush=True)
                torch.cuda.empty_cache()
    print(json.dumps(bench_enqueue()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
