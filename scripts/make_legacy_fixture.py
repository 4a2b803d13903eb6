#!/usr/bin/env python3
"""Writes the legacy-format (pre-1.6 torch.save) fixture the engine's reader is tested against.

    /usr/bin/python3 scripts/make_legacy_fixture.py     # writes engine-java/src/test/resources/fixtures/legacy_cases*

legacy_cases.pth: torch.save(..., _use_new_zipfile_serialization=False) of a MoCo-style checkpoint
{'epoch': 3, 'arch': 'resnet18', 'state_dict': OrderedDict(...)} holding a Parameter, F32 / F16 / BF16 / I64 tensors,
two views of one storage (a slice with an offset and a transpose), an empty tensor and a float64 tensor (no engine
dtype: it must load as a placeholder without disturbing the others).
legacy_cases_expected.safetensors: every supported tensor above, contiguous, under the same key.
Deterministic contents (seeded); the .pth embeds storage ids, so its bytes may differ between runs.
"""
import collections
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_torch_fixtures import write_safetensors  # noqa: E402


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


if __name__ == "__main__":
    main()
