#!/usr/bin/env python3
"""Writes engine-java/src/test/resources/fixtures/compress_loss_torch.json: the official CompRess and MoCo v2
formulations computed by PyTorch (Debian's python3-torch; CPU, float64) on small seeded inputs, for the
Java parity test. Run from the repository root:  /usr/bin/python3 scripts/make_loss_fixture.py
"""
import json
import math

import torch
import torch.nn.functional as F

torch.manual_seed(20201)
OUT = "engine-java/src/test/resources/fixtures/compress_loss_torch.json"


def bank(k, d):
    stdv = 1.0 / math.sqrt(d / 3)
    return (torch.rand(k, d, dtype=torch.float64) * 2 - 1) * stdv


def compress_case(b, k, dt, ds, tau, one_queue):
    t = torch.randn(b, dt, dtype=torch.float64)
    s = torch.randn(b, ds, dtype=torch.float64, requires_grad=True)
    queue_t = bank(k, dt)
    queue_s = queue_t if one_queue else bank(k, ds)
    # the official formulation: normalise, logits against the queues, KL(p_t || p_s) 'batchmean'
    logit_s = torch.mm(F.normalize(s, dim=1), queue_s.t()) / tau
    logit_t = torch.mm(F.normalize(t, dim=1), queue_t.t()) / tau
    loss = F.kl_div(F.log_softmax(logit_s, dim=1), F.softmax(logit_t, dim=1), reduction="batchmean")
    loss.backward()
    return {"kind": "compress", "b": b, "k": k, "dt": dt, "ds": ds, "tau": tau, "one_queue": one_queue,
            "teacher": t.flatten().tolist(), "student": s.detach().flatten().tolist(),
            "teacher_bank": queue_t.flatten().tolist(), "student_bank": queue_s.flatten().tolist(),
            "loss": loss.item(), "grad_student": s.grad.flatten().tolist()}


def infonce_case(b, k, d, tau):
    q = torch.randn(b, d, dtype=torch.float64, requires_grad=True)
    key = torch.randn(b, d, dtype=torch.float64)
    queue = bank(k, d)
    qn, kn = F.normalize(q, dim=1), F.normalize(key, dim=1)
    # MoCo's formulation: positive logit first, cross-entropy with label 0
    l_pos = torch.einsum("nc,nc->n", qn, kn).unsqueeze(-1)
    l_neg = torch.einsum("nc,kc->nk", qn, queue)
    logits = torch.cat([l_pos, l_neg], dim=1) / tau
    loss = F.cross_entropy(logits, torch.zeros(b, dtype=torch.long))
    loss.backward()
    return {"kind": "infonce", "b": b, "k": k, "d": d, "tau": tau, "query": q.detach().flatten().tolist(),
            "key": key.flatten().tolist(), "bank": queue.flatten().tolist(), "loss": loss.item(),
            "grad_query": q.grad.flatten().tolist()}


cases = [compress_case(4, 50, 8, 8, 0.04, False), compress_case(3, 37, 12, 5, 0.04, False),
         compress_case(5, 64, 6, 6, 0.01, True), compress_case(2, 9, 4, 4, 0.2, False),
         infonce_case(4, 40, 8, 0.2), infonce_case(3, 17, 5, 0.07)]
with open(OUT, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f)
print(f"wrote {OUT} with {len(cases)} cases (torch {torch.__version__})")
