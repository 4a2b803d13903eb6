#!/usr/bin/env python3
"""The `compress train` demo pipeline in PyTorch (Debian's python3-torch 1.13 / torchvision 0.14, CPU): MoCo v2
pretraining of a teacher, CompRess-2q into a student, k-NN of pixels, teacher and student on the Fashion-MNIST test
set. Same settings as TrainConfig.fashionMnistDemo() (or as given), same loops as scripts/training_parity_torch.py
(the official ones, which TrainingLoopParityTest holds our loops to step for step), torchvision's init and
transforms instead of ours. One JSON line per run on stdout.

    /usr/bin/python3 bench/learning_check/torch_pipeline.py --seed 0 --test-images 0 [--moco-epochs 0 --epochs 0]
    ... --teacher-checkpoint models/fashion-mnist-teacher.safetensors --moco-epochs 0   (a given teacher, as `demo`)

Augmentations (torchvision, tensor path, as SmallImageRecipes): MoCo views RandomResizedCrop(28, scale (0.2, 1)),
ColorJitter(0.4, 0.4) p 0.8, GaussianBlur(3, sigma (0.1, 2)) p 0.5, flip; the CompRess view crop + flip; eval: none.
k-NN: cosine, k = 1 nearest neighbour, k = 20 votes exp(s / 0.07) (KnnEvaluator).
"""
import argparse
import gzip
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision.transforms as T

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
from training_parity_torch import KLD, Memory, moment_update, resnet18_small  # noqa: E402

MEAN, STD = 0.2860, 0.3530  # Normalize.FASHION_MNIST


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[:4], "big")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(magic & 0xFF)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def load(root, split, n):
    x = idx(os.path.join(root, f"{split}-images-idx3-ubyte.gz"))
    y = idx(os.path.join(root, f"{split}-labels-idx1-ubyte.gz"))
    n = len(y) if n == 0 else n
    return torch.from_numpy(x[:n].copy()).float().div(255).unsqueeze(1), torch.from_numpy(y[:n].astype(np.int64))


def read_safetensors(path):
    """The tensors of a safetensors file (8-byte little-endian header length, JSON header, raw little-endian data)."""
    dtypes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32}
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        lo, hi = h["data_offsets"]
        t = torch.frombuffer(bytearray(data[lo:hi]), dtype=dtypes[h["dtype"]]) if hi > lo else torch.empty(0, dtype=dtypes[h["dtype"]])
        out[name] = t.reshape(h["shape"]).clone()
    return out


def mocov2_view():
    return T.Compose([T.RandomResizedCrop(28, scale=(0.2, 1.0)), T.RandomApply([T.ColorJitter(0.4, 0.4)], p=0.8),
                      T.RandomApply([T.GaussianBlur(3, sigma=(0.1, 2.0))], p=0.5), T.RandomHorizontalFlip(),
                      T.Normalize([MEAN], [STD])])


def compress_view():
    return T.Compose([T.RandomResizedCrop(28, scale=(0.2, 1.0)), T.RandomHorizontalFlip(), T.Normalize([MEAN], [STD])])


def batches(x, batch, view, views, gen):
    """Shuffled, drop_last, each image augmented independently per view (as our loader)."""
    perm = torch.randperm(len(x), generator=gen)
    for b in range(len(x) // batch):
        idx_ = perm[b * batch:(b + 1) * batch]
        yield [torch.stack([view(x[i]) for i in idx_]) for _ in range(views)]


def moco(teacher_q, teacher_k, x, a, gen):
    """MoCo v2, as training_parity_torch.run_moco (the official step), cosine per iteration as MocoPretrainer."""
    for pq, pk in zip(teacher_q.parameters(), teacher_k.parameters()):
        pk.data.copy_(pq.data)
        pk.requires_grad = False
    queue = F.normalize(torch.randn(a.moco_head_dim, min(a.moco_queue, len(x)), generator=gen), dim=0)
    ptr, K = 0, queue.shape[1]
    opt = torch.optim.SGD(teacher_q.parameters(), lr=a.moco_lr, momentum=0.9, weight_decay=1e-4)
    per_epoch = len(x) // a.moco_batch
    teacher_q.train()
    teacher_k.train()
    view = mocov2_view()
    for epoch in range(a.moco_epochs):
        for i, (im_q, im_k) in enumerate(batches(x, a.moco_batch, view, 2, gen)):
            for g in opt.param_groups:
                g["lr"] = a.moco_lr * 0.5 * (1 + math.cos(math.pi * (epoch + i / per_epoch) / a.moco_epochs))
            q = F.normalize(teacher_q(im_q), dim=1)
            with torch.no_grad():
                for pq, pk in zip(teacher_q.parameters(), teacher_k.parameters()):
                    pk.data = pk.data * a.moco_m + pq.data * (1.0 - a.moco_m)
                k = F.normalize(teacher_k(im_k), dim=1)
            logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.clone().detach()], dim=1) / a.moco_tau
            with torch.no_grad():  # the ring buffer wraps (MoCo asserts K % batch == 0; ours wraps)
                ids = (torch.arange(len(k)) + ptr) % K
                queue[:, ids] = k.T
                ptr = (ptr + len(k)) % K
            loss = F.cross_entropy(logits, torch.zeros(len(q), dtype=torch.long))
            opt.zero_grad()
            loss.backward()
            opt.step()


def compress_2q(teacher, student, student_key, x, a):
    """CompRess-2q, as training_parity_torch.run_compress (train_student.py); lr constant (milestones 90, 120 unreached)."""
    moment_update(student, student_key, 0)
    teacher.eval()  # the dimensions, without a forward pass in train mode (it would move BN running statistics)
    student.eval()
    with torch.no_grad():
        tdim, sdim = teacher(x[:2]).shape[1], student(x[:2]).shape[1]
    k = min(a.queue, len(x))
    stdv_t, stdv_s = 1.0 / math.sqrt(tdim / 3), 1.0 / math.sqrt(sdim / 3)
    tbank = Memory(torch.rand(k, tdim).mul_(2 * stdv_t).add_(-stdv_t), a.tau)
    sbank = Memory(torch.rand(k, sdim).mul_(2 * stdv_s).add_(-stdv_s), a.tau)
    opt = torch.optim.SGD(student.parameters(), lr=a.lr, momentum=0.9, weight_decay=1e-4)
    teacher.eval()
    student.train()
    student_key.eval()
    student_key.apply(lambda m: m.train() if m.__class__.__name__.find("BatchNorm") != -1 else None)
    view, criterion = compress_view(), KLD()
    gen = torch.Generator().manual_seed(a.seed + 100)
    for epoch in range(a.epochs):
        for (inputs,) in batches(x, a.batch_size, view, 1, gen):
            with torch.no_grad():
                t = F.normalize(teacher(inputs), dim=1)
            s = F.normalize(student(inputs), dim=1)
            with torch.no_grad():
                sk = F.normalize(student_key(inputs), dim=1)
            loss = criterion(tbank.forward(t), sbank.forward(s, sk))
            opt.zero_grad()
            loss.backward()
            opt.step()
            moment_update(student, student_key, a.momentum)


@torch.no_grad()
def embed(net, x):
    net.eval()
    return torch.cat([net(((x[i:i + 256]) - MEAN) / STD) for i in range(0, len(x), 256)])


def knn(train, train_y, test, test_y, k, temperature=0.07):
    train, test = F.normalize(train, dim=1), F.normalize(test, dim=1)
    correct = 0
    for i in range(0, len(test), 1000):
        sim = test[i:i + 1000] @ train.T
        s, j = sim.topk(k, dim=1)
        w = torch.ones_like(s) if k == 1 else torch.exp(s / temperature)
        votes = torch.zeros(len(s), 10).scatter_add_(1, train_y[j], w)
        correct += (votes.argmax(1) == test_y[i:i + 1000]).sum().item()
    return correct / len(test)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-root", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train-images", type=int, default=4000)
    ap.add_argument("--test-images", type=int, default=1000)
    ap.add_argument("--teacher-width", type=int, default=16)
    ap.add_argument("--teacher-checkpoint", default=None, help="a given teacher (safetensors with torchvision names)")
    ap.add_argument("--student-width", type=int, default=8)
    ap.add_argument("--student-init", default=None,
                    help="the student's initial weights (safetensors with torchvision names, e.g. ours at random initialisation)")
    ap.add_argument("--moco-epochs", type=int, default=2)
    ap.add_argument("--moco-batch", type=int, default=128)
    ap.add_argument("--moco-lr", type=float, default=0.06)
    ap.add_argument("--moco-queue", type=int, default=4096)
    ap.add_argument("--moco-tau", type=float, default=0.2)
    ap.add_argument("--moco-head-dim", type=int, default=64)
    ap.add_argument("--moco-m", type=float, default=0.99)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--queue", type=int, default=4096)
    ap.add_argument("--tau", type=float, default=0.04)
    ap.add_argument("--momentum", type=float, default=0.999)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    start = time.time()
    x, y = load(a.data_root, "train", a.train_images)
    xt, yt = load(a.data_root, "t10k", a.test_images)
    tw, sw = a.teacher_width, a.student_width
    mlp = lambda: nn.Sequential(nn.Linear(8 * tw, 8 * tw), nn.ReLU(), nn.Linear(8 * tw, a.moco_head_dim))
    teacher = resnet18_small(tw, mlp())
    if a.teacher_checkpoint:  # a given teacher (ours, written by `compress pretrain`: torchvision names, the MLP head as fc.0 / fc.2)
        state = {k: v for k, v in read_safetensors(a.teacher_checkpoint).items() if not k.startswith("fc.")}
        missing, unexpected = teacher.load_state_dict(state, strict=False)
        if unexpected or any(not k.startswith("fc.") for k in missing):
            raise SystemExit(f"{a.teacher_checkpoint}: missing {missing}, unexpected {unexpected}")
    if a.moco_epochs > 0:
        moco(teacher, resnet18_small(tw, mlp()), x, a, gen)
    teacher.fc = nn.Sequential()  # CompRess uses the trunk (train_student.py: model_t.fc = nn.Sequential())
    student, student_key = resnet18_small(sw, nn.Sequential()), resnet18_small(sw, nn.Sequential())
    if a.student_init:  # both sides start from the same weights (compress_2q copies them into the key encoder)
        student.load_state_dict(read_safetensors(a.student_init), strict=True)
        student_key.load_state_dict(student.state_dict())
    if a.epochs > 0:
        compress_2q(teacher, student, student_key, x, a)
    out = {"side": "pytorch", "seed": a.seed, "train_images": len(x), "test_images": len(xt), "moco_epochs": a.moco_epochs,
           "epochs": a.epochs, "knn_top1": {}}
    reps = {"pixels": (((x - MEAN) / STD).flatten(1), ((xt - MEAN) / STD).flatten(1)), "teacher": (embed(teacher, x), embed(teacher, xt)),
            "student": (embed(student, x), embed(student, xt))}
    for name, (tr, te) in reps.items():
        out["knn_top1"][name] = {str(k): knn(tr, y, te, yt, k) for k in (1, 20)}
    out["seconds"] = round(time.time() - start, 1)
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
