#!/usr/bin/env python3
"""The official MoCo v2 and CompRess training loops in PyTorch, run from our initial state on our loader's batches.

Usage (scripts/make_training_parity_fixtures.sh runs it after writing the inputs):
    /usr/bin/python3 scripts/training_parity_torch.py INPUTS.safetensors OUT.safetensors

INPUTS (TrainingParitySetup.main): moco.view_q / moco.view_k / compress.view [steps, B, 1, 28, 28], our initial
state dicts (moco.q., moco.k., teacher., student., student_key., student_1q.), the banks (moco.queue,
compress.teacher_bank, compress.student_bank: K x D rows), hyper-parameters in the metadata.

The steps follow the official code line for line, with .cuda() and DataParallel removed:
  MoCo v2  facebookresearch/moco (commit 132aea9d): moco/builder.py MoCo.forward — q = normalize(encoder_q(im_q));
           under no_grad: _momentum_update_key_encoder() (parameters only, k = k*m + q*(1-m)), k = normalize(encoder_k(im_k))
           (the DDP batch shuffle is a permutation of one BN batch on one device, so it is left out: BN statistics do not
           depend on the order); l_pos, l_neg against queue.clone().detach(); logits /= T; _dequeue_and_enqueue(k)
           before the loss is back-propagated; main_moco.py train(): CrossEntropyLoss against label 0, zero_grad,
           backward, SGD(momentum 0.9, weight_decay 1e-4) step; encoder_q and encoder_k both in train mode.
           Learning rate: main_moco.py adjust_learning_rate sets the cosine ONCE PER EPOCH (lr * 0.5 * (1 +
           cos(pi * epoch / epochs))); our MocoPretrainer applies the same cosine PER ITERATION (epoch + i / iterations)
           and says so, so this script does what ours claims (--moco-lr-per-epoch gives the official one).
  CompRess UMBCvision/CompRess (commit c5e57edc): train_student.py (2q), train_student_without_momentum.py,
           train_student_one_queue.py and nn/compress_loss.py (CompReSSMomentum, CompReSS, CompReSSA, KLD):
           teacher frozen in eval mode, feats under no_grad; student.train(); the momentum student in eval mode with its
           BatchNorm layers in train mode (set_bn_train), its feats under no_grad; both banks' logits
           mm(memory.clone(), q.T) / T taken before index_copy_ enqueues (teacher feats into the teacher bank; the key
           feats, or the student's own for 2q-without-momentum, into the student's; 1q: the student scored against the
           teacher bank with update=False, only the teacher enqueues); KL(softmax(t) || log_softmax(s)) 'batchmean';
           zero_grad, backward, SGD step, THEN moment_update(student, student_key, alpha) (2q); moment_update(.., 0)
           once before training copies the student into the key. adjust_learning_rate(epoch) with epochs counted from
           1: lr * 0.2 ** (number of milestones < epoch), set once per epoch.

Each loop runs ten times: fp32 (the reference written out), fp64 from the same start, and eight times fp32 from a start
whose every weight is moved by one rounding (2^-24 relative, random sign). The largest |fp32 - fp64| over the nine fp32
runs, relative to the tensor's scale, is how far rounding alone can carry a correct fp32 implementation of the loop; it
is written per key into the metadata (fp32_vs_fp64_relative_noise; the loss per step as the tensor <run>.loss_noise),
and the Java test's tolerances are a multiple of it (TorchParity.tolerance). The largest, not a typical run: now and
then a rounding-sized difference flips a ReLU (an activation within ~1e-7 of zero), that gradient jumps by 1e-4 ..
1e-3, more ReLUs flip, and from then on the run parts from fp64 by 1e-3 .. 1e-1 (fp32_runs_parting_at_step lists when;
..._noise_median is the typical run). So that such a cascade cannot carry a correct loop out of tolerance over 20
steps, the whole state is also written after MID = 10 steps (mid.*): the test compares its loop there, then loads
mid.* into it and compares the last 10 steps from that common state. Parameters are measured on their
change over the run (final - initial), the quantity the training computes; everything else on its value.
"""
import copy
import json
import math
import os
import statistics
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.resnet import BasicBlock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_torch_fixtures import torchvision_resnet, write_safetensors  # noqa: E402

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, h in header.items():
        a, b = h["data_offsets"]
        t = torch.frombuffer(bytearray(data[a:b]), dtype=DTYPES[h["dtype"]]) if b > a else torch.zeros(0, dtype=DTYPES[h["dtype"]])
        out[name] = t.reshape(h["shape"]).clone()
    return out, meta


def group(tensors, prefix):
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def resnet18_small(width, fc):
    """torchvision's ResNet-18 at base `width` with the small-input stem (3x3 stride-1 conv1 on 1 channel, no max-pool)."""
    m = torchvision_resnet(BasicBlock, [2, 2, 2, 2], width, 10)
    m.conv1 = nn.Conv2d(1, width, kernel_size=3, stride=1, padding=1, bias=False)
    m.maxpool = nn.Identity()
    m.fc = fc
    return m


def load(model, state, dtype):
    model.load_state_dict(state, strict=True)
    return model.to(dtype) if dtype != torch.float32 else model


def perturb(model, gen):
    """Moves every floating weight and buffer by one rounding, 2^-24 relative, with a random sign."""
    with torch.no_grad():
        for t in list(model.parameters()) + [b for b in model.buffers() if b.is_floating_point()]:
            sign = torch.randint(0, 2, t.shape, generator=gen).to(t.dtype) * 2 - 1
            t.mul_(1 + sign * 2.0 ** -24)


def sgd(params, lr, hp):
    return torch.optim.SGD(params, lr=lr, momentum=hp["momentum"], weight_decay=hp["weight_decay"])


def momentum_buffers(model, opt):
    return {n: opt.state[p]["momentum_buffer"].clone() for n, p in model.named_parameters()}


MID = 10  # the whole state is also compared after this many steps


# ---- MoCo v2 ----

def moco_lr(base, step, per_epoch, epochs, per_epoch_only):
    epoch = step // per_epoch if per_epoch_only else step / per_epoch
    return base * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))


def run_moco(inp, meta, dtype, gen, per_epoch_only=False):
    hp, opt_hp = json.loads(meta["moco"]), json.loads(meta["sgd"])
    steps, per_epoch, epochs = int(meta["steps"]), int(meta["per_epoch"]), int(meta["epochs"])
    w, dim = hp["width"], hp["head_dim"]
    mlp = lambda: nn.Sequential(nn.Linear(8 * w, 8 * w), nn.ReLU(), nn.Linear(8 * w, dim))  # MoCo v2's head
    encoder_q = load(resnet18_small(w, mlp()), group(inp, "moco.q."), dtype)
    encoder_k = load(resnet18_small(w, mlp()), group(inp, "moco.k."), dtype)
    if gen is not None:
        perturb(encoder_q, gen)
        encoder_k.load_state_dict(encoder_q.state_dict())
    for pk in encoder_k.parameters():
        pk.requires_grad = False
    queue = inp["moco.queue"].to(dtype).t().contiguous()  # MoCo stores the queue as dim x K
    queue_ptr = 0
    K, T, m = queue.shape[1], hp["tau"], hp["m"]
    optimizer = sgd(encoder_q.parameters(), hp["lr"], opt_hp)
    encoder_q.train()
    encoder_k.train()
    losses, lrs = [], []

    def snapshot():
        out = {"queue": queue.t().clone(), "queue_ptr": torch.tensor([queue_ptr])}
        out.update({"query." + k: v.clone() for k, v in encoder_q.state_dict().items()})
        out.update({"key." + k: v.clone() for k, v in encoder_k.state_dict().items()})
        out.update({"momentum." + k: v for k, v in momentum_buffers(encoder_q, optimizer).items()})
        return out

    for step in range(steps):
        lr = moco_lr(hp["lr"], step, per_epoch, epochs, per_epoch_only)
        for g in optimizer.param_groups:
            g["lr"] = lr
        im_q, im_k = inp["moco.view_q"][step].to(dtype), inp["moco.view_k"][step].to(dtype)
        # MoCo.forward
        q = nn.functional.normalize(encoder_q(im_q), dim=1)
        with torch.no_grad():
            for param_q, param_k in zip(encoder_q.parameters(), encoder_k.parameters()):
                param_k.data = param_k.data * m + param_q.data * (1.0 - m)
            k = nn.functional.normalize(encoder_k(im_k), dim=1)
        l_pos = torch.einsum("nc,nc->n", [q, k]).unsqueeze(-1)
        l_neg = torch.einsum("nc,ck->nk", [q, queue.clone().detach()])
        logits = torch.cat([l_pos, l_neg], dim=1)
        logits /= T
        labels = torch.zeros(logits.shape[0], dtype=torch.long)
        with torch.no_grad():  # _dequeue_and_enqueue
            batch_size = k.shape[0]
            assert K % batch_size == 0
            queue[:, queue_ptr:queue_ptr + batch_size] = k.T
            queue_ptr = (queue_ptr + batch_size) % K
        # main_moco.py train()
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        lrs.append(lr)
        if step + 1 == MID:
            mid = snapshot()
    out = {"loss": torch.tensor(losses, dtype=torch.float64), "lr": torch.tensor(lrs, dtype=torch.float64)}
    out.update(snapshot())
    out.update({"mid." + k: v for k, v in mid.items()})
    return out, {"query." + k: v for k, v in group(inp, "moco.q.").items()}


# ---- CompRess (nn/compress_loss.py, with .cuda() removed) ----

class Normalize(nn.Module):
    def __init__(self, power=2):
        super().__init__()
        self.power = power

    def forward(self, x):
        norm = x.pow(self.power).sum(1, keepdim=True).pow(1. / self.power)
        return x.div(norm)


class KLD(nn.Module):
    def forward(self, targets, inputs):
        targets = F.softmax(targets, dim=1)
        inputs = F.log_softmax(inputs, dim=1)
        return F.kl_div(inputs, targets, reduction="batchmean")


class Memory:
    """SampleSimilarities / SampleSimilaritiesMomentum: a K x D memory, its write index, logits before the update."""

    def __init__(self, rows, T):
        self.memory, self.T, self.index = rows.clone(), T, 0

    def forward(self, q, q_enqueue=None, update=True):
        batchSize = q.shape[0]
        queue = self.memory.clone()
        out = torch.mm(queue.detach(), q.transpose(1, 0))
        out = out.transpose(0, 1)
        out = torch.div(out, self.T)
        out = out.squeeze().contiguous()
        if update:
            with torch.no_grad():
                out_ids = torch.arange(batchSize)
                out_ids += self.index
                out_ids = torch.fmod(out_ids, self.memory.shape[0])
                out_ids = out_ids.long()
                self.memory.index_copy_(0, out_ids, q if q_enqueue is None else q_enqueue)
                self.index = (self.index + batchSize) % self.memory.shape[0]
        return out


def compress_loss(method, teacher_bank, student_bank, teacher_feats, student_feats, student_feats_key):
    l2norm, criterion = Normalize(2), KLD()
    teacher_feats = l2norm(teacher_feats)
    student_feats = l2norm(student_feats)
    if method == "2q":  # CompReSSMomentum
        student_feats_key = l2norm(student_feats_key)
        similarities_student = student_bank.forward(student_feats, student_feats_key)
        similarities_teacher = teacher_bank.forward(teacher_feats)
    elif method == "2q-nomomentum":  # CompReSS
        similarities_student = student_bank.forward(student_feats)
        similarities_teacher = teacher_bank.forward(teacher_feats)
    else:  # 1q: CompReSSA
        similarities_student = teacher_bank.forward(student_feats, update=False)
        similarities_teacher = teacher_bank.forward(teacher_feats)
    return criterion(similarities_teacher, similarities_student)


def moment_update(query_model, key_model, m):
    """ key_model = m * key_model + (1 - m) query_model """
    for p1, p2 in zip(query_model.parameters(), key_model.parameters()):
        p2.data.mul_(m).add_(p1.detach().data, alpha=1 - m)


def adjust_learning_rate(epoch, base, milestones, gamma, optimizer):
    steps = sum(1 for m in milestones if epoch > m)
    if steps > 0:
        for param_group in optimizer.param_groups:
            param_group["lr"] = base * (gamma ** steps)


def run_compress(inp, meta, method, dtype, gen):
    hp, opt_hp = json.loads(meta["compress"]), json.loads(meta["sgd"])
    steps, per_epoch = int(meta["steps"]), int(meta["per_epoch"])
    sw, tw = hp["student_width"], hp["teacher_width"]
    teacher = load(resnet18_small(tw, nn.Sequential()), group(inp, "teacher."), dtype)
    for p in teacher.parameters():
        p.requires_grad = False
    if method == "1q":
        student = load(resnet18_small(sw, nn.Linear(8 * sw, 8 * tw)), group(inp, "student_1q."), dtype)
        prefix = "student_1q."
    else:
        student = load(resnet18_small(sw, nn.Sequential()), group(inp, "student."), dtype)
        prefix = "student."
    if gen is not None:
        perturb(student, gen)
    student_key = None
    if method == "2q":
        student_key = load(resnet18_small(sw, nn.Sequential()), group(inp, "student_key."), dtype)
        moment_update(student, student_key, 0)
    teacher_bank = Memory(inp["compress.teacher_bank"].to(dtype), hp["tau"])
    student_bank = Memory(inp["compress.student_bank"].to(dtype), hp["tau"]) if method != "1q" else None
    optimizer = sgd(student.parameters(), hp["lr"], opt_hp)
    teacher.eval()
    student.train()
    if student_key is not None:  # train_student(): student_key.eval(), then its BatchNorm layers back to train
        student_key.eval()
        student_key.apply(lambda mod: mod.train() if mod.__class__.__name__.find("BatchNorm") != -1 else None)
    losses, lrs = [], []

    def snapshot():
        out = {"teacher_bank": teacher_bank.memory.clone(), "teacher_bank_ptr": torch.tensor([teacher_bank.index])}
        if student_bank is not None:
            out["student_bank"] = student_bank.memory.clone()
            out["student_bank_ptr"] = torch.tensor([student_bank.index])
        out.update({"query." + k: v.clone() for k, v in student.state_dict().items()})
        if student_key is not None:
            out.update({"key." + k: v.clone() for k, v in student_key.state_dict().items()})
        out.update({"momentum." + k: v for k, v in momentum_buffers(student, optimizer).items()})
        return out

    for step in range(steps):
        if step % per_epoch == 0:
            adjust_learning_rate(step // per_epoch + 1, hp["lr"], hp["milestones"], hp["gamma"], optimizer)
        inputs = inp["compress.view"][step].to(dtype)
        with torch.no_grad():
            teacher_feats = teacher(inputs).detach()
        student_feats = student(inputs)
        student_feats_key = None
        if student_key is not None:
            with torch.no_grad():
                student_feats_key = student_key(inputs).detach()
        loss = compress_loss(method, teacher_bank, student_bank, teacher_feats, student_feats, student_feats_key)
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step + 1 == MID:  # before this step's moment_update: our loop makes that update first in the next step
            mid = snapshot()
        if student_key is not None:
            moment_update(student, student_key, hp["m"])
    out = {"loss": torch.tensor(losses, dtype=torch.float64), "lr": torch.tensor(lrs, dtype=torch.float64)}
    out.update(snapshot())
    out.update({"teacher." + k: v for k, v in teacher.state_dict().items()})
    out.update({"mid." + k: v for k, v in mid.items()})
    return out, {"query." + k: v for k, v in group(inp, prefix).items()}


def noise(ref32, ref64, others, initial, params):
    """Per key: max |fp32 - fp64| / max |fp64| of each fp32 run (loss: a tensor per step, relative); parameters (`params`: "query.x", "key.x") are
    measured on their change from `initial`."""
    out = {}
    for k, v64 in ref64.items():
        if not v64.is_floating_point():
            continue

        def rel(v32):
            a, b = v32.double(), v64.double()
            if k == "loss":  # per step, relative to that step's loss
                return ((a - b).abs() / b.abs())
            if k in params:
                a, b = a - initial[k].double(), b - initial[k].double()
            scale = b.abs().max().item()
            d = (a - b).abs().max().item()
            return d / scale if scale > 0 else d
        out[k] = [rel(r[k]) for r in [ref32] + others]
    return out


PERTURBATION_SEEDS = tuple(range(5, 13))  # eight fp32 runs from perturbed starts: rounding takes a different path in each


def main():
    inputs_path, out_path = sys.argv[1], sys.argv[2]
    per_epoch_only = "--moco-lr-per-epoch" in sys.argv
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    inp, meta = read_safetensors(inputs_path)
    tensors, noises, summary, median, event_counts = {}, {}, {}, {}, {}
    runs = [("moco", lambda d, g: run_moco(inp, meta, d, g, per_epoch_only))]
    runs += [(m, (lambda m: lambda d, g: run_compress(inp, meta, m, d, g))(m)) for m in ("2q", "2q-nomomentum", "1q")]
    for name, run in runs:
        ref32, initial = run(torch.float32, None)
        ref64, _ = run(torch.float64, None)
        perturbed = [run(torch.float32, torch.Generator().manual_seed(seed))[0] for seed in PERTURBATION_SEEDS]
        # parameters: the tensors with an SGD momentum buffer, and their momentum copies in the key encoder
        params = {p + k[len("momentum."):] for k in ref32 if k.startswith("momentum.") for p in ("query.", "key.", "mid.query.", "mid.key.")}
        start = initial | key_initial(name, inp)
        n = noise(ref32, ref64, perturbed, start | {"mid." + k: v for k, v in start.items()}, params)
        per_step = torch.stack(n.pop("loss"))  # runs x steps
        tensors[name + ".loss_noise"] = per_step.max(0).values.float()
        first = [next((s for s in range(per_step.shape[1]) if per_step[r, s] > 100 * per_step[:, s].median()), None)
                 for r in range(per_step.shape[0])]
        event_counts[name] = [f for f in first if f is not None]
        print(f"  {name}: steps at which an fp32 run first parts from fp64 by > 100x the median of the runs: {event_counts[name]}")
        median.update({name + "." + k: statistics.median(v) for k, v in n.items()})
        n = {k: max(v) for k, v in n.items()}
        noises.update({name + "." + k: v for k, v in n.items()})
        for k, v in ref32.items():
            tensors[name + "." + k] = v.float() if v.is_floating_point() else v
        worst = sorted(n.items(), key=lambda kv: -kv[1])[:3]
        summary[name] = {"loss_first": ref32["loss"][0].item(), "loss_last": ref32["loss"][-1].item()}
        print(f"  {name}: loss {ref32['loss'][0]:.4f} -> {ref32['loss'][-1]:.4f}; fp32 noise, worst: "
              + ", ".join(f"{k} {v:.1e}" for k, v in worst))
    meta_out = {
        "description": "the official MoCo v2 and CompRess 2q / 2q-nomomentum / 1q loops (scripts/training_parity_torch.py) "
                       "run for `steps` steps from training_parity_inputs.safetensors: <run>.loss / <run>.lr per step (the "
                       "loss of each step before its SGD update, the rate it used), <run>.query.* (query encoder or student "
                       "state dict after the last step), <run>.key.* (key encoder / momentum student: MoCo's after the last "
                       "step; CompRess-2q's after the last step's moment_update), <run>.momentum.* (SGD momentum buffers), "
                       "the banks (K x D rows) and their write pointers, <run>.teacher.* (CompRess teacher state dict at the end)",
        "torch": torch.__version__,
        "moco_lr": "per epoch (official)" if per_epoch_only else "per iteration (as MocoPretrainer)",
        "fp32_vs_fp64_relative_noise": json.dumps({k: float(f"{v:.3e}") for k, v in noises.items()}),
        "fp32_vs_fp64_relative_noise_median": json.dumps({k: float(f"{v:.3e}") for k, v in median.items()}),
        "fp32_runs_parting_at_step": json.dumps(event_counts),
        "summary": json.dumps(summary),
    }
    write_safetensors(out_path, {k: v.contiguous() for k, v in tensors.items()}, meta_out)
    print(f"wrote {out_path}: {len(tensors)} tensors, {os.path.getsize(out_path) / 1e6:.2f} MB")
    return 0


def key_initial(name, inp):
    """The key encoders' parameters start as copies of the query's (MoCo's __init__, CompRess's moment_update(.., 0))."""
    if name == "moco":
        return {"key." + k: v for k, v in group(inp, "moco.q.").items()}
    if name == "2q":
        return {"key." + k: v for k, v in group(inp, "student.").items()}
    return {}


if __name__ == "__main__":
    sys.exit(main())
