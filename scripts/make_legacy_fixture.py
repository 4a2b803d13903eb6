#!/usr/bin/env python3
"""Writes the legacy-format (pre-1.6 torch.save) fixture the engine's reader is tested against.

    /usr/bin/python3 scripts/make_legacy_fixture.py     # writes engine-java/src/test/resources/fixtures/legacy_cases*

legacy_cases.pth: torch.save(..., _use_new_zipfile_serialization=False) of a MoCo-style checkpoint
{'epoch': 3, 'arch': 'resnet18', 'state_dict': OrderedDict(...)} holding a Parameter, F32 / F16 / BF16 / I64 tensors,
two views of one storage (a slice with an offset and a transpose), an empty tensor and a float64 tensor (no engine
dtype: it must load as a placeholder without disturbing the others).
legacy_cases_expected.safetensors: every supported tensor above, contiguous, under the same key.
legacy_teacher.pth.tar: a MoCo v2 checkpoint as the pre-1.6 releases were published ({'epoch', 'arch',
'state_dict': module.encoder_q.* / module.encoder_k.* with the MLP head, module.queue}) for a width-4 ResNet-18
with the small-input stem (3x3 conv1 on 1 channel, as the engine builds for 28 px images), random BN statistics.
legacy_teacher_expected.safetensors: its encoder_q trunk with torchvision keys (what the engine must load).
Deterministic contents (seeded); the .pth embeds storage ids, so its bytes may differ between runs.
"""
import collections
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_torch_fixtures import torchvision_resnet, write_safetensors  # noqa: E402
from torchvision.models.resnet import BasicBlock  # noqa: E402


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "engine-java", "src", "test", "resources", "fixtures")
    torch.manual_seed(11)
    base = torch.randn(6, 5)
    sd = collections.OrderedDict()
    sd["conv.weight"] = torch.nn.Parameter(torch.randn(4, 3, 3, 3))
    sd["bn.running_var"] = torch.rand(4) + 0.5
    sd["bn.num_batches_tracked"] = torch.tensor(7)
    sd["half"] = torch.randn(3, 2).half()
    sd["bf16"] = torch.randn(5).bfloat16()
    sd["rows"] = base[2:5]            # a view with a storage offset
    sd["cols"] = base.t()             # the same storage, transposed
    sd["empty"] = torch.zeros(0, 3)
    sd["double"] = torch.randn(2).double()
    ckpt = {"epoch": 3, "arch": "resnet18", "state_dict": sd}
    torch.save(ckpt, os.path.join(out, "legacy_cases.pth"), _use_new_zipfile_serialization=False)
    expected = {k: v.detach().contiguous() for k, v in sd.items() if v.dtype != torch.float64}
    write_safetensors(os.path.join(out, "legacy_cases_expected.safetensors"), expected, {"torch": torch.__version__})
    legacy_teacher(out)


def legacy_teacher(out):
    torch.manual_seed(12)
    m = torchvision_resnet(BasicBlock, [2, 2, 2, 2], 4, 10)
    m.conv1 = torch.nn.Conv2d(1, 4, kernel_size=3, stride=1, padding=1, bias=False)
    torch.nn.init.kaiming_normal_(m.conv1.weight, mode="fan_out", nonlinearity="relu")
    m.fc = torch.nn.Sequential(torch.nn.Linear(32, 32), torch.nn.ReLU(), torch.nn.Linear(32, 16))  # MoCo v2's MLP head
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 1.5)
            mod.num_batches_tracked.fill_(100)
    sd = collections.OrderedDict()
    for k, v in m.state_dict().items():
        sd["module.encoder_q." + k] = v
    for k, v in m.state_dict().items():
        sd["module.encoder_k." + k] = v.clone()
    sd["module.queue"] = torch.randn(16, 64)
    sd["module.queue_ptr"] = torch.zeros(1, dtype=torch.long)
    ckpt = {"epoch": 200, "arch": "resnet18", "state_dict": sd, "optimizer": {"state": {}, "param_groups": []}}
    torch.save(ckpt, os.path.join(out, "legacy_teacher.pth.tar"), _use_new_zipfile_serialization=False)
    trunk = {k: v for k, v in m.state_dict().items() if not k.startswith("fc.")}
    write_safetensors(os.path.join(out, "legacy_teacher_expected.safetensors"), trunk, {"torch": torch.__version__})


if __name__ == "__main__":
    main()
