#!/usr/bin/env python3
"""PyTorch peer for ResNetStepBenchmark (issue 4's step targets), same shapes and the same work per step:
  resnet18 train: forward + cross-entropy + backward + SGD (momentum 0.9, weight decay 1e-4), batch 256, 224 px,
                  in BF16 (channels_last + bf16 autocast), FP32 with TF32 off (what the engine's FP32 computes:
                  cuDNN FMA math, cuBLAS 32F) and FP32 with PyTorch's defaults (cuDNN TF32 on for convolutions);
  resnet50 infer: eval-mode embedding (fc = Identity), no_grad, BF16 channels_last + autocast and FP32.
The images arrive as fp32 NCHW and are converted to channels_last inside the step, as the engine converts them
inside its network. cudnn.benchmark is on. Each step is timed with CUDA events; the median over the measured
steps is reported. Prints one JSON object per line:
    {"work": "resnet_step", "model", "mode", "variant", "batch", "size", "ms", "img_s"}
Run on the GPU machine (torchvision is used when installed, else an identical local definition):
    python3 bench/peer/resnet_peer.py [--quick] > peer-resnet.jsonl
"""
import argparse
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

CASES = [("resnet18", "train", "bf16_channels_last"), ("resnet18", "train", "fp32"), ("resnet18", "train", "fp32_tf32"),
         ("resnet50", "infer", "bf16_channels_last"), ("resnet50", "infer", "fp32")]


# ---- torchvision's ResNet (v1.5), for hosts without torchvision ----
class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._layer(block, 64, layers[0], 1)
        self.layer2 = self._layer(block, 128, layers[1], 2)
        self.layer3 = self._layer(block, 256, layers[2], 2)
        self.layer4 = self._layer(block, 512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def _layer(self, block, planes, blocks, stride):
        down = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            down = nn.Sequential(nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                                 nn.BatchNorm2d(planes * block.expansion))
        mods = [block(self.inplanes, planes, stride, down)]
        self.inplanes = planes * block.expansion
        mods += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*mods)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def build(name):
    try:
        import torchvision
        return getattr(torchvision.models, name)(weights=None), "torchvision " + torchvision.__version__
    except ImportError:
        block, layers = (BasicBlock, [2, 2, 2, 2]) if name == "resnet18" else (Bottleneck, [3, 4, 6, 3])
        return ResNet(block, layers), "local definition (no torchvision)"


def median_ms(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2]


def bench(model_name, mode, variant, batch, size, warmup, iters):
    bf16 = variant.startswith("bf16")
    channels_last = variant.endswith("channels_last")
    tf32 = variant == "fp32_tf32"
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = True
    model, _ = build(model_name)
    model = model.cuda()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    g = torch.Generator(device="cuda").manual_seed(7)
    x = torch.randn(batch, 3, size, size, device="cuda", generator=g)
    labels = torch.arange(batch, device="cuda") % 1000

    def inputs():
        return x.contiguous(memory_format=torch.channels_last) if channels_last else x

    if mode == "train":
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)

        def step():
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
                loss = F.cross_entropy(model(inputs()), labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    else:
        model.fc = nn.Identity()
        model.eval()

        def step():
            with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
                model(inputs())

    ms = median_ms(step, warmup, iters)
    del model
    torch.cuda.empty_cache()
    return {"work": "resnet_step", "model": model_name, "mode": mode, "variant": variant, "batch": batch, "size": size,
            "ms": ms, "img_s": batch / (ms / 1000.0)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer measured steps")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--size", type=int, default=224)
    args = ap.parse_args()
    _, source = build("resnet18")
    print(json.dumps({"peer": "pytorch", "work": "resnet_step", "torch": torch.__version__, "models": source,
                      "gpu": torch.cuda.get_device_name(0), "cuda": torch.version.cuda,
                      "cudnn": torch.backends.cudnn.version()}), flush=True)
    warmup, iters = (5, 10) if args.quick else (10, 30)
    for model_name, mode, variant in CASES:
        try:
            print(json.dumps(bench(model_name, mode, variant, args.batch, args.size, warmup, iters)), flush=True)
        except Exception as e:  # e.g. out of memory: report, keep going
            print(json.dumps({"work": "resnet_step", "model": model_name, "mode": mode, "variant": variant,
                              "error": str(e).splitlines()[0]}), flush=True)
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
