#!/usr/bin/env python3
"""PyTorch peer of bench's CpuStepBenchmark: the same ResNet-18 (small-input stem: 3x3 stride-1 conv1, no max-pool;
every stage's channels scale with the base width), the same batch and the same work per step, on the CPU with
torch.set_num_threads(--threads):
  train: forward (10-class linear head) + cross-entropy + backward + SGD (momentum 0.9, weight decay 1e-4);
  infer: eval-mode embedding (trunk only) under no_grad.
Images are fp32 NCHW (PyTorch's default CPU layout; PyTorch reorders to oneDNN's blocked layout inside each
convolution). Each case warms up, then runs steps for about --seconds; the median step time is reported.
Prints one JSON object per line: {"work": "cpu_step", "arch", "width", "input", "mode", "batch", "threads", "ms", "img_s"}
--archs resnet18,mobilenetv2 adds torchvision's MobileNetV2 (width 1.0, 10 classes, its first convolution stride 1
and taking the input's channels: the engine's small-input MobileNetV2); --widths applies to ResNet-18 only.
--channels-last runs network and input in torch.channels_last (PyTorch's NHWC) instead of its default NCHW.
With --loss also the peers of CpuLossBenchmark ({"work": "compress2q" | "knn", "ms", "items_s"}):
  compress2q: a CompRess-2q loss step, batch 256, 128-d, two fp32 banks of 16,384: L2-normalise, KL of the softmaxed
              similarities (tau 0.04), backward to the student embedding, enqueue both banks;
  knn: 10,000 queries against 60,000 128-d features, k = 20, InstDisc votes exp(s / 0.07), 512 queries per matmul.
    /usr/bin/python3 bench/peer/cpu_peer.py --threads 2 --widths 16 --inputs 1x28 --modes train,infer [--loss]
                                            [--archs resnet18,mobilenetv2]
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)), inplace=True)


class SmallResNet18(nn.Module):
    def __init__(self, in_channels, width, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        layers, inplanes = [], width
        for i, planes in enumerate([width, 2 * width, 4 * width, 8 * width]):
            stride = 1 if i == 0 else 2
            layers += [BasicBlock(inplanes, planes, stride), BasicBlock(planes, planes, 1)]
            inplanes = planes
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(inplanes, classes)

    def embed(self, x):
        x = F.relu(self.bn1(self.conv1(x)), inplace=True)
        return torch.flatten(F.adaptive_avg_pool2d(self.layers(x), 1), 1)

    def forward(self, x):
        return self.fc(self.embed(x))


class SmallMobileNetV2(nn.Module):
    """torchvision's MobileNetV2 with the first convolution at stride 1 on `in_channels`, as the engine builds it."""

    def __init__(self, in_channels, classes=10):
        super().__init__()
        import torchvision
        m = torchvision.models.mobilenet_v2(num_classes=classes)
        m.features[0][0] = nn.Conv2d(in_channels, 32, 3, 1, 1, bias=False)
        self.features, self.classifier = m.features, m.classifier

    def embed(self, x):
        return torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1)

    def forward(self, x):
        return self.classifier(self.embed(x))


def run_case(arch, width, inp, mode, batch, seconds, threads, channels_last=False):
    channels, size = (int(v) for v in inp.split("x"))
    torch.manual_seed(1)
    net = SmallResNet18(channels, width) if arch == "resnet18" else SmallMobileNetV2(channels)
    x = torch.randn(batch, channels, size, size)
    if channels_last:
        net, x = net.to(memory_format=torch.channels_last), x.to(memory_format=torch.channels_last)
    labels = torch.arange(batch) % 10
    if mode == "train":
        net.train()
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)

        def step():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(x), labels).backward()
            opt.step()
    else:
        net.eval()

        def step():
            with torch.no_grad():
                net.embed(x)
    step()
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 2:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    ms = 1e3 * statistics.median(times)
    return {"work": "cpu_step", "arch": arch, "width": width, "input": inp, "mode": mode, "batch": batch, "threads": threads,
            "layout": "channels_last" if channels_last else "nchw",
            "steps": len(times), "ms": round(ms, 2), "img_s": round(batch / ms * 1e3, 1)}


def timed(step, seconds):
    step()
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 3:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def compress2q(seconds, threads):
    b, d, k, tau = 256, 128, 16384, 0.04
    g = torch.Generator().manual_seed(1)
    bank_t = F.normalize(torch.randn(k, d, generator=g), dim=1)
    bank_s = F.normalize(torch.randn(k, d, generator=g), dim=1)
    teacher, student_raw = torch.randn(b, d, generator=g), torch.randn(b, d, generator=g)
    ptr = [0]

    def step():
        student = student_raw.clone().requires_grad_(True)
        t = F.normalize(teacher, dim=1)
        s = F.normalize(student, dim=1)
        log_pt = F.log_softmax(t @ bank_t.t() / tau, dim=1)
        log_ps = F.log_softmax(s @ bank_s.t() / tau, dim=1)
        loss = F.kl_div(log_ps, log_pt, log_target=True, reduction="batchmean")
        loss.backward()
        with torch.no_grad():
            bank_t[ptr[0]:ptr[0] + b] = t
            bank_s[ptr[0]:ptr[0] + b] = s.detach()
            ptr[0] = (ptr[0] + b) % k
    ms = timed(step, seconds)
    return {"work": "compress2q", "threads": threads, "ms": round(ms, 2), "items_s": round(b / ms * 1e3, 1)}


def knn(seconds, threads):
    n, q, d, k, classes = 60000, 10000, 128, 20, 10
    g = torch.Generator().manual_seed(2)
    train = F.normalize(torch.randn(n, d, generator=g), dim=1)
    labels = torch.arange(n) % classes
    queries = torch.randn(q, d, generator=g)
    targets = torch.zeros(q, dtype=torch.long)

    def step():
        test = F.normalize(queries, dim=1)
        correct = 0
        for q0 in range(0, q, 512):
            sims = test[q0:q0 + 512] @ train.t()
            top, idx = sims.topk(k, dim=1)
            votes = torch.zeros(sims.shape[0], classes).scatter_add_(1, labels[idx], torch.exp(top / 0.07))
            correct += (votes.argmax(1) == targets[q0:q0 + 512]).sum().item()
        return correct
    ms = timed(step, seconds)
    return {"work": "knn", "threads": threads, "ms": round(ms, 2), "items_s": round(q / ms * 1e3, 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--widths", default="8,16,64")
    ap.add_argument("--inputs", default="1x28,3x32")
    ap.add_argument("--modes", default="train,infer")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--loss", action="store_true", help="also the CompRess-2q step and the k-NN pass")
    ap.add_argument("--archs", default="resnet18", help="resnet18 and/or mobilenetv2")
    ap.add_argument("--channels-last", action="store_true", help="torch.channels_last network and input")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.loss:
        print(json.dumps(compress2q(a.seconds, a.threads)), flush=True)
        print(json.dumps(knn(a.seconds, a.threads)), flush=True)
    for arch in a.archs.split(","):
        if arch not in ("resnet18", "mobilenetv2"):
            raise SystemExit(f"--archs: expected resnet18 or mobilenetv2, found {arch}")
        for w in ((int(v) for v in a.widths.split(",")) if arch == "resnet18" else ["1.0"]):
            for inp in a.inputs.split(","):
                for mode in a.modes.split(","):
                    print(json.dumps(run_case(arch, w, inp, mode, a.batch, a.seconds, a.threads, a.channels_last)), flush=True)


if __name__ == "__main__":
    main()
