// CompRess lab problem (seeded queries and banks, optionally pre-rounded to the tensor-core operand type) and
// its CPU reference in double: loss_i = KL(softmax(zt_i) || softmax(zs_i)), dL/dS_i = sum_j (ps - pt) Qs_j/(tau B).
// Shared by kernels/dev/compress_loss.cu (GPU lab) and kernels/dev/host_selftest.cu (CPU-only checks).
#pragma once
#include <cmath>
#include <vector>
#include "lab_common.cuh"
#include "../loss_kernels.cuh"

struct Problem {
    int b, k, dt, ds, bank_type;
    float tau;
    bool one_q, raw;
    std::vector<float> tq, sq;          // B x Dt, B x Ds (rounded to the operand type unless raw)
    std::vector<float> qt, qs;          // bank values: K x Dt, K x Ds (qs == qt in 1q)
    std::vector<uint16_t> qt16, qs16;   // BF16 bits of the banks
};

inline Problem make_problem(int b, int k, int dt, int ds, int bank_type, float tau, bool one_q, bool raw,
                            uint64_t seed) {
    Problem p{b, k, dt, one_q ? dt : ds, bank_type, tau, one_q, raw, {}, {}, {}, {}, {}, {}};
    lab::Rng rng(seed);
    auto operand = [&](float x) {
        return raw ? x : (bank_type == compress::kBankBF16 ? lab::round_bf16(x) : lab::round_tf32(x));
    };
    auto normalise = [](float* row, int d) {
        double ss = 0;
        for (int c = 0; c < d; ++c) ss += (double)row[c] * row[c];
        const double inv = 1.0 / std::max(std::sqrt(ss), 1e-12);
        for (int c = 0; c < d; ++c) row[c] = (float)(row[c] * inv);
    };
    p.tq.resize((size_t)b * p.dt);
    p.sq.resize((size_t)b * p.ds);
    for (int i = 0; i < b; ++i) {
        float* t = &p.tq[(size_t)i * p.dt];
        float* s = &p.sq[(size_t)i * p.ds];
        for (int c = 0; c < p.dt; ++c) t[c] = (float)rng.normal();
        normalise(t, p.dt);
        // A student that partly agrees with the teacher (when the dims allow) keeps the KL moderate, the
        // regime where the loss is a small difference of large terms.
        for (int c = 0; c < p.ds; ++c) s[c] = (float)(rng.normal() * 0.7 / std::sqrt((double)p.ds)) + (p.ds == p.dt ? t[c] : 0.f);
        normalise(s, p.ds);
        for (int c = 0; c < p.dt; ++c) t[c] = operand(t[c]);
        for (int c = 0; c < p.ds; ++c) s[c] = operand(s[c]);
    }
    auto fill_bank = [&](std::vector<float>& q, std::vector<uint16_t>& q16, int d) {
        const double a = std::sqrt(3.0 / d);   // uniform in +-1/sqrt(D/3), like a fresh MoCo bank
        q.resize((size_t)k * d);
        q16.resize(bank_type == compress::kBankBF16 ? (size_t)k * d : 0);
        for (size_t e = 0; e < q.size(); ++e) {
            const float x = (float)((2 * rng.uniform() - 1) * a);
            if (bank_type == compress::kBankBF16) {
                q16[e] = lab::bf16_bits(x);
                q[e] = lab::bf16_value(q16[e]);
            } else {
                q[e] = raw ? x : lab::round_tf32(x);
            }
        }
    };
    fill_bank(p.qt, p.qt16, p.dt);
    if (one_q) {
        p.qs = p.qt;
        p.qs16 = p.qt16;
    } else {
        fill_bank(p.qs, p.qs16, p.ds);
    }
    return p;
}

struct Reference {
    std::vector<double> loss, grad;
    std::vector<double> zmax;         // per row: max |logit| (natural units), scales the loss tolerance
    std::vector<double> grad_bound;   // per element: sum_j (ps + pt) |Qs_jc| / (tau B) >= |each gradient term|
    double mean = 0;
};

inline Reference reference(const Problem& p) {
    Reference r;
    r.loss.assign(p.b, 0);
    r.zmax.assign(p.b, 0);
    r.grad.assign((size_t)p.b * p.ds, 0);
    r.grad_bound.assign((size_t)p.b * p.ds, 0);
    const double inv_tau = 1.0 / p.tau;
    #pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < p.b; ++i) {
        std::vector<double> zt(p.k), zs(p.k);
        const float* t = &p.tq[(size_t)i * p.dt];
        const float* s = &p.sq[(size_t)i * p.ds];
        double mt = -INFINITY, ms = -INFINITY, zmax = 0;
        for (int j = 0; j < p.k; ++j) {
            const float* a = &p.qt[(size_t)j * p.dt];
            const float* b = &p.qs[(size_t)j * p.ds];
            double x = 0, y = 0;
            for (int c = 0; c < p.dt; ++c) x += (double)t[c] * a[c];
            for (int c = 0; c < p.ds; ++c) y += (double)s[c] * b[c];
            zt[j] = x * inv_tau;
            zs[j] = y * inv_tau;
            mt = std::max(mt, zt[j]);
            ms = std::max(ms, zs[j]);
            zmax = std::max(zmax, std::max(std::fabs(zt[j]), std::fabs(zs[j])));
        }
        double lt = 0, ls = 0;
        for (int j = 0; j < p.k; ++j) { lt += std::exp(zt[j] - mt); ls += std::exp(zs[j] - ms); }
        const double lse_t = mt + std::log(lt), lse_s = ms + std::log(ls);
        double kl = 0;
        std::vector<double> g(p.ds, 0), gb(p.ds, 0);
        for (int j = 0; j < p.k; ++j) {
            const double pt = std::exp(zt[j] - lse_t), ps = std::exp(zs[j] - lse_s);
            kl += pt * ((zt[j] - lse_t) - (zs[j] - lse_s));
            const float* b = &p.qs[(size_t)j * p.ds];
            for (int c = 0; c < p.ds; ++c) {
                g[c] += (ps - pt) * b[c];
                gb[c] += (ps + pt) * std::fabs((double)b[c]);
            }
        }
        r.loss[i] = kl;
        r.zmax[i] = zmax;
        for (int c = 0; c < p.ds; ++c) {
            r.grad[(size_t)i * p.ds + c] = g[c] * inv_tau / p.b;
            r.grad_bound[(size_t)i * p.ds + c] = gb[c] * inv_tau / p.b;
        }
    }
    double sum = 0;
    for (double v : r.loss) sum += v;
    r.mean = sum / p.b;
    return r;
}

