#!/usr/bin/env python3
"""Writes the PyTorch reference fixtures the engine's tests replay (PyTorch is the external reference).

Run where PyTorch exists (tested with Debian's python3-torch 1.13 and python3-torchvision 0.14):
    apt-get install -y python3-torch python3-torchvision
    /usr/bin/python3 scripts/make_torch_fixtures.py            # writes engine-java/src/test/resources/fixtures/
    /usr/bin/python3 scripts/make_torch_fixtures.py --full-width --out /tmp/fx   # full torchvision widths (large, not committed)

No network: every weight is a seeded random init, never a download. Deterministic: fixed seeds, CPU only,
single thread. safetensors files are written with the reference `safetensors` package when it is importable,
else with write_safetensors() below (same layout: u64 LE header length, JSON header, space padding to 8 bytes).

Files (see the module docstrings of each writer for the keys):
  resnet18_small.safetensors  torchvision ResNet-18 (BasicBlock [2,2,2,2]) at base width 8, 10 classes:
                              weights, input, eval logits/features, train logits/loss, all parameter grads,
                              BN stats after the train forward, parameters after one SGD step.
  resnet50_small.safetensors  the same for torchvision ResNet-50 (Bottleneck [3,4,6,3]) at base width 4.
  moco_checkpoint.pth.tar     torch.save in MoCo's format ({'epoch','arch','state_dict','optimizer'}) for a
                              width-8 ResNet-18 with MoCo v2's MLP head; DataParallel keys module.encoder_q.* etc.
  compress_checkpoint.pth     torch.save in the official CompRess format ({'opt': argparse.Namespace,
                              'model': DataParallel state dict (module.*), 'optimizer', 'epoch'}).
  checkpoint_expected.safetensors  what the two checkpoints must load to, plus torchvision's features.
  pickle_cases.pth / pickle_cases_expected.safetensors  every dtype, strided views and plain containers.
  legacy_format.pth           the same kind of state dict in the legacy (pre-1.6) format (see also make_legacy_fixture.py).

Why narrow widths: the full-width ResNet-18 is 11.2M parameters, so weights + grads + post-step parameters in
F32 alone are 134 MB; the narrow models keep torchvision's classes, module names and forward code (only the
channel counts shrink: the stem and layer1..layer4 are rebuilt with torchvision's own _make_layer), and keep
every tensor in F32 so the parity tolerances can be tight. Weights, grads and post-step parameters (three copies of
every parameter) are nearly all of each file's bytes, so the width sets the size: 8 / 4 keep the two files at 3.6 MB
together (16 / 8 were 13.3 MB), small enough to travel with a GPU bundle. --full-width writes the full-size variants.
"""
import argparse
import collections
import copy
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

INPUT_SHAPE = (3, 3, 40, 40)      # batch 3, 40x40: odd sizes on the way down (40-20-10-10-5-3-2)
LABELS = [3, 7, 1]
NUM_CLASSES = 10
SGD = dict(lr=0.1, momentum=0.9, weight_decay=1e-4)

try:
    import safetensors
    import safetensors.torch as st_ref
except ImportError:
    st_ref = None


def write_safetensors(path, tensors, metadata):
    """The safetensors layout written by hand (used when the reference package is absent)."""
    names = sorted(tensors)
    header = {"__metadata__": metadata} if metadata else {}
    offset = 0
    blobs = []
    dtypes = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16", torch.int64: "I64",
              torch.int32: "I32", torch.uint8: "U8"}
    for n in names:
        t = tensors[n].contiguous()
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[n] = {"dtype": dtypes[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def save_st(path, tensors, metadata):
    tensors = {k: v.detach().clone(memory_format=torch.contiguous_format) for k, v in tensors.items()}
    metadata = dict(metadata, writer=("safetensors " + safetensors.__version__) if st_ref else "make_torch_fixtures.write_safetensors",
                    torch=torch.__version__, torchvision=torchvision.__version__)
    if st_ref:
        st_ref.save_file(tensors, path, metadata=metadata)
    else:
        write_safetensors(path, tensors, metadata)
    print(f"  {os.path.basename(path)}: {len(tensors)} tensors, {os.path.getsize(path) / 1e6:.2f} MB")


def torchvision_resnet(block, layers, width, num_classes):
    """torchvision's ResNet with every channel count scaled to base `width` (64 = torchvision's own model)."""
    m = ResNet(block, layers, num_classes=num_classes)
    if width != 64:
        m.inplanes = width
        m.conv1 = nn.Conv2d(3, width, kernel_size=7, stride=2, padding=3, bias=False)
        m.bn1 = nn.BatchNorm2d(width)
        m.layer1 = m._make_layer(block, width, layers[0])
        m.layer2 = m._make_layer(block, width * 2, layers[1], stride=2)
        m.layer3 = m._make_layer(block, width * 4, layers[2], stride=2)
        m.layer4 = m._make_layer(block, width * 8, layers[3], stride=2)
        m.fc = nn.Linear(width * 8 * block.expansion, num_classes)
        for mod in m.modules():  # torchvision's own init for the rebuilt modules
            if isinstance(mod, nn.Conv2d):
                nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")
    return m


def randomise_bn(model, gen):
    """Non-trivial BN affine parameters and running statistics, so eval mode is not an identity.

    The last BN of every residual branch (bn2 of a BasicBlock, bn3 of a Bottleneck) gets a small gamma in
    [0.1, 0.4), as trained ResNets have: with gamma ~ 1 the residual stream grows block after block, the batch's
    features collapse onto one direction, and train-mode BN then divides nearly cancelling differences, which
    amplifies fp32 rounding (ResNet-50 at width 4: 1.4e-4 relative noise, above TorchParity.MAX_NOISE, vs 1.9e-5
    here; at width 8 1.5e-4 vs 9.4e-6; full width up to 3e-2) and would make any parity tolerance meaningless.
    """
    branch_last = set()
    for mod in model.modules():
        if isinstance(mod, BasicBlock):
            branch_last.add(mod.bn2)
        elif isinstance(mod, Bottleneck):
            branch_last.add(mod.bn3)
    for mod in model.modules():
        if isinstance(mod, nn.BatchNorm2d):
            c = mod.num_features
            with torch.no_grad():
                if mod in branch_last:
                    mod.weight.copy_(0.1 + 0.3 * torch.rand(c, generator=gen))
                else:
                    mod.weight.copy_(0.5 + torch.rand(c, generator=gen))
                mod.bias.copy_(0.4 * torch.rand(c, generator=gen) - 0.2)
                mod.running_mean.copy_(0.4 * torch.rand(c, generator=gen) - 0.2)
                mod.running_var.copy_(0.5 + torch.rand(c, generator=gen))
                mod.num_batches_tracked.fill_(5)


def run_reference(model, x, labels):
    """Eval forward, train forward + CE loss + backward, one SGD step; returns every tensor a replay checks."""
    out = {}
    feats = {}
    hook = model.avgpool.register_forward_hook(lambda m, i, o: feats.__setitem__("f", torch.flatten(o, 1)))
    model.eval()
    with torch.no_grad():
        out["eval.logits"] = model(x)
        out["eval.features"] = feats["f"]
    model.train()
    logits = model(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    out["train.logits"] = logits.detach()
    out["train.loss"] = loss.detach()
    for name, p in model.named_parameters():
        out["grad." + name] = p.grad.detach().clone()
    params = dict(model.named_parameters())
    for name, b in model.state_dict().items():
        if name not in params:
            out["train.state." + name] = b.clone()
    opt = torch.optim.SGD(model.parameters(), **SGD)
    opt.step()
    for name, p in model.named_parameters():
        out["sgd." + name] = p.detach().clone()
    hook.remove()
    return out


def relative_noise(f32, f64):
    """max |f32 - f64| / max |f64|: how far plain fp32 lands from the exact answer (the parity noise floor)."""
    if not f32.is_floating_point():
        return 0.0
    scale = f64.abs().max().item()
    return (f32.double() - f64).abs().max().item() / scale if scale > 0 else 0.0


def kink_threshold(model64, x64, labels, ref64):
    """Largest relative weight perturbation (of 1e-7 .. 1e-4) under which every gradient still moves linearly.

    ReLU masks and max-pool choices switch when an input crosses 0 or a tie; the gradient then jumps (10-70% here)
    instead of moving in proportion to the perturbation. A replay whose activations are off by more than this from
    PyTorch's can see such jumps, so element-wise gradient parity only holds below it (forward outputs and the loss
    are continuous and unaffected). Linear means within 10x of the gradient's own slope, measured per key and
    direction at 1e-8: the slopes themselves differ by model (ResNet-18 ~10x the perturbation, ResNet-50 at width 8
    ~60x, at width 4 up to ~230x, all exactly linear up to 1e-6), so a fixed bound on the change would report the
    steep but smooth ones as kinks. A switch already at 1e-8 (a change over 1e-4 there, i.e. a slope of 1e4) gives 0.
    """
    def changes(eps, trial):
        p = copy.deepcopy(model64)
        g = torch.Generator().manual_seed(1000 + trial)
        with torch.no_grad():
            for q in p.parameters():
                q.mul_(1 + eps * torch.randn(q.shape, generator=g, dtype=torch.float64))
        r = run_reference(p, x64, labels)
        return {k: ((r[k] - ref64[k]).abs().max() / ref64[k].abs().max()).item() for k in r if k.startswith("grad.")}

    base_eps = 1e-8
    slopes = [changes(base_eps, trial) for trial in range(2)]
    if max(max(s.values()) for s in slopes) > 1e-4:
        return 0.0
    passed = 0.0
    for eps in (1e-7, 1e-6, 1e-5, 1e-4):
        linear = True
        for trial in range(2):
            for k, c in changes(eps, trial).items():
                predicted = slopes[trial][k] * eps / base_eps
                if not predicted / 10 <= c <= 10 * predicted:
                    linear = False
        if not linear:
            break
        passed = eps
    return passed


def resnet_fixture(out_dir, name, block, layers, width, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = torchvision_resnet(block, layers, width, NUM_CLASSES)
    randomise_bn(model, gen)
    x = torch.randn(*INPUT_SHAPE, generator=gen)
    labels = torch.tensor(LABELS, dtype=torch.int64)
    state0 = {k: v.clone() for k, v in model.state_dict().items()}
    model64 = copy.deepcopy(model).double()

    ref = run_reference(model, x, labels)
    kinks = kink_threshold(model64, x.double(), labels, run_reference(copy.deepcopy(model64), x.double(), labels))
    ref64 = run_reference(model64, x.double(), labels)
    noise = {k: relative_noise(v, ref64[k]) for k, v in ref.items()}
    worst = sorted(noise.items(), key=lambda kv: -kv[1])[:5]
    print(f"  {name}: fp32-vs-fp64 relative noise, worst: " + ", ".join(f"{k} {v:.2e}" for k, v in worst)
          + f"; gradients linear up to weight perturbations of {kinks:.0e}")

    tensors = {"input": x, "labels": labels}
    tensors.update({"state." + k: v for k, v in state0.items()})
    tensors.update(ref)
    meta = {
        "description": f"torchvision ResNet({block.__name__}, {layers}) at base width {width}, {NUM_CLASSES} classes: "
                       "state.* before anything, eval.* in eval mode, train.* / grad.* from one train-mode forward "
                       "+ cross_entropy(train.logits, labels) + backward, train.state.* BN buffers after that forward, "
                       "sgd.* parameters after torch.optim.SGD(lr, momentum, weight_decay).step() (first step: "
                       "buf = grad + wd * p, p -= lr * buf)",
        "arch": name.split("_")[0], "block": block.__name__, "layers": json.dumps(layers), "base_width": str(width),
        "num_classes": str(NUM_CLASSES), "sgd": json.dumps(SGD), "seed": str(seed),
        "fp32_vs_fp64_relative_noise": json.dumps({k: float(f"{v:.3e}") for k, v in noise.items()}),
        "gradient_kink_threshold": f"{kinks:.0e}",
    }
    save_st(os.path.join(out_dir, name + ".safetensors"), tensors, meta)


class MoCo(nn.Module):
    """MoCo v2's module layout (encoder_q, encoder_k with an MLP head, queue, queue_ptr); training logic omitted."""

    def __init__(self, width, dim=16, k=32, mlp=True):
        super().__init__()
        self.encoder_q = torchvision_resnet(BasicBlock, [2, 2, 2, 2], width, dim)
        if mlp:
            dim_mlp = self.encoder_q.fc.weight.shape[1]
            self.encoder_q.fc = nn.Sequential(nn.Linear(dim_mlp, dim_mlp), nn.ReLU(), self.encoder_q.fc)
        self.encoder_k = copy.deepcopy(self.encoder_q)
        for p in self.encoder_k.parameters():
            p.requires_grad = False
        self.register_buffer("queue", F.normalize(torch.randn(dim, k), dim=0))
        self.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))


class DataParallelKeys(nn.Module):
    """Gives state dict keys the 'module.' prefix that DataParallel / DistributedDataParallel add."""

    def __init__(self, module):
        super().__init__()
        self.module = module


def torchvision_features(backbone_state, width, x):
    model = torchvision_resnet(BasicBlock, [2, 2, 2, 2], width, NUM_CLASSES)
    model.fc = nn.Identity()
    model.load_state_dict(backbone_state, strict=True)
    model.eval()
    with torch.no_grad():
        return model(x)


def checkpoint_fixtures(out_dir, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    width = 8
    expected = {}

    # MoCo: main_moco.py saves {'epoch', 'arch', 'state_dict': DDP state dict, 'optimizer'}.
    moco = MoCo(width)
    randomise_bn(moco.encoder_q, gen)
    with torch.no_grad():  # the key encoder is a momentum copy, so it differs from the query encoder
        for pk in moco.encoder_k.parameters():
            pk.add_(0.01 * torch.randn(pk.shape, generator=gen))
    wrapped = DataParallelKeys(moco)
    opt = torch.optim.SGD(moco.parameters(), lr=0.03, momentum=0.9, weight_decay=1e-4)
    x = torch.randn(*INPUT_SHAPE, generator=gen)
    moco.encoder_q.train()
    moco.encoder_q(x).pow(2).mean().backward()  # any loss: it only fills the optimizer's momentum buffers
    opt.step()
    torch.save({"epoch": 200, "arch": "resnet18", "state_dict": wrapped.state_dict(), "optimizer": opt.state_dict()},
               os.path.join(out_dir, "moco_checkpoint.pth.tar"))
    q = moco.encoder_q.state_dict()
    backbone = {k: v for k, v in q.items() if not k.startswith("fc.")}
    expected.update({"moco.q." + k: v for k, v in q.items()})
    expected["moco.input"] = x
    expected["moco.features"] = torchvision_features(backbone, width, x)

    # CompRess: train_student.py saves {'opt': args, 'model': DataParallel(student).state_dict(), 'optimizer', 'epoch'};
    # the student's fc is nn.Sequential() (no parameters), so the backbone is all there is.
    student = torchvision_resnet(BasicBlock, [2, 2, 2, 2], width, NUM_CLASSES)
    student.fc = nn.Sequential()
    randomise_bn(student, gen)
    sopt = torch.optim.SGD(student.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    student.train()
    student(x).pow(2).mean().backward()
    sopt.step()
    args = argparse.Namespace(data="/imagenet", batch_size=256, learning_rate=0.01, lr_decay_epochs=[90, 120],
                              student_arch="resnet18", teacher_arch="resnet50", gpu=None, cache_teacher=False,
                              compress_memory_size=128000, compress_t=0.04, alpha=0.999)
    torch.save({"opt": args, "model": DataParallelKeys(student).state_dict(), "optimizer": sopt.state_dict(), "epoch": 130},
               os.path.join(out_dir, "compress_checkpoint.pth"))
    sstate = student.state_dict()
    expected.update({"compress.model." + k: v for k, v in sstate.items()})
    expected["compress.features"] = torchvision_features(sstate, width, x)

    save_st(os.path.join(out_dir, "checkpoint_expected.safetensors"), expected, {
        "description": "moco.q.* = encoder_q state dict of moco_checkpoint.pth.tar (module.encoder_q. stripped); "
                       "compress.model.* = model state dict of compress_checkpoint.pth (module. stripped); "
                       "*.features = torchvision ResNet-18 (fc = Identity, eval) on moco.input with those weights",
        "base_width": str(width)})
    for f in ("moco_checkpoint.pth.tar", "compress_checkpoint.pth"):
        print(f"  {f}: {os.path.getsize(os.path.join(out_dir, f)) / 1e6:.2f} MB")


def pickle_cases(out_dir, seed):
    gen = torch.Generator().manual_seed(seed)
    base = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
    tensors = {
        "f32": torch.randn(3, 5, generator=gen),
        "bf16": torch.randn(7, generator=gen).bfloat16(),
        "f16": torch.randn(2, 3, generator=gen).half(),
        "i64": torch.arange(-5, 5, dtype=torch.int64) * (2 ** 40),
        "i32": torch.arange(-3, 4, dtype=torch.int32) * 65537,
        "u8": torch.arange(250, 256, dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "transposed": base.transpose(0, 2),
        "sliced": base[:, 1:, ::2],
        "channels_last": torch.randn(2, 3, 4, 5, generator=gen).to(memory_format=torch.channels_last),
        "expanded": torch.randn(3, 1, generator=gen).expand(3, 4),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 3),
        "shared_whole": base,
        "shared_row": base[1],
    }
    obj = dict(tensors)
    obj["param"] = nn.Parameter(torch.randn(4, generator=gen))
    obj["f64"] = torch.randn(2, 2, generator=gen, dtype=torch.float64)
    obj["nested"] = [1, -2, 2 ** 40, -(2 ** 70), 1.5, "ünï", None, True, False, (1, "a"), {"k": [torch.ones(2)]}]
    obj["namespace"] = argparse.Namespace(lr=0.1, name="x", steps=[1, 2])
    obj["ordered"] = collections.OrderedDict([("b", 1), ("a", 2)])
    obj[7] = "int key"
    torch.save(obj, os.path.join(out_dir, "pickle_cases.pth"))
    expected = {k: (v.to(torch.uint8) if v.dtype == torch.bool else v) for k, v in tensors.items()}
    expected["param"] = obj["param"].detach()
    save_st(os.path.join(out_dir, "pickle_cases_expected.safetensors"), expected,
            {"description": "contiguous copies of the tensors in pickle_cases.pth (bool as U8)"})
    legacy = {"conv.weight": torch.ones(2, 1, 1, 1), "bn.num_batches_tracked": torch.tensor(3)}
    torch.save(legacy, os.path.join(out_dir, "legacy_format.pth"), _use_new_zipfile_serialization=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engine-java", "src",
                                                  "test", "resources", "fixtures"))
    ap.add_argument("--full-width", action="store_true", help="torchvision's own widths (64): ~135 MB for ResNet-18, not committed")
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(a.out, exist_ok=True)
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, safetensors writer: "
          f"{'reference ' + st_ref.__name__ if st_ref else 'built-in'}; writing to {os.path.abspath(a.out)}")
    r18_width, r50_width = (64, 64) if a.full_width else (8, 4)
    resnet_fixture(a.out, "resnet18_small" if not a.full_width else "resnet18_full", BasicBlock, [2, 2, 2, 2], r18_width, 18)
    resnet_fixture(a.out, "resnet50_small" if not a.full_width else "resnet50_full", Bottleneck, [3, 4, 6, 3], r50_width, 50)
    if not a.full_width:
        checkpoint_fixtures(a.out, 7)
        pickle_cases(a.out, 11)
    return 0


if __name__ == "__main__":
    sys.exit(main())
