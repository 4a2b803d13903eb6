// Kernel lab for the fused MoCo v2 InfoNCE loss (kernels/loss_fused.cu, one-sided mode): CPU reference in
// double, variants, validation (tolerance model as in compress_loss.cu, bitwise repeat) and timing.
// Variants: 1 naive (one CTA per query, scalar FP32); 3 production compress::infonce_fused (what the JNI calls).
// Usage: infonce VARIANT|all [B K D f32|bf16 TAU] [--raw] [--reps N] [--seed N] [--no-timing] [--no-check]
//   defaults: all 256 65536 128 f32 0.2 (MoCo v2: K = 65536, tau = 0.2).
// Exit status: 0 all run checks passed, 1 a validation failed, 2 a CUDA error.
#include "../loss_fused.cu"
#include "../loss_rows.cu"
#include "lab_common.cuh"

namespace L = compress::loss_detail;
using lab::DeviceBuffer;

struct Problem {
    int b, k, d, bank_type;
    float tau;
    bool raw;
    std::vector<float> q, kpos, bank;   // B x D, B x D, K x D (bank values)
    std::vector<uint16_t> bank16;
};

static Problem make_problem(int b, int k, int d, int bank_type, float tau, bool raw, uint64_t seed) {
    Problem p{b, k, d, bank_type, tau, raw, {}, {}, {}, {}};
    lab::Rng rng(seed);
    auto operand = [&](float x) {
        return raw ? x : (bank_type == compress::kBankBF16 ? lab::round_bf16(x) : lab::round_tf32(x));
    };
    auto normalise = [](float* row, int n) {
        double ss = 0;
        for (int c = 0; c < n; ++c) ss += (double)row[c] * row[c];
        const double inv = 1.0 / std::max(std::sqrt(ss), 1e-12);
        for (int c = 0; c < n; ++c) row[c] = (float)(row[c] * inv);
    };
    p.q.resize((size_t)b * d);
    p.kpos.resize((size_t)b * d);
    for (int i = 0; i < b; ++i) {
        float* q = &p.q[(size_t)i * d];
        float* kp = &p.kpos[(size_t)i * d];
        for (int c = 0; c < d; ++c) q[c] = (float)rng.normal();
        normalise(q, d);
        for (int c = 0; c < d; ++c) kp[c] = q[c] + (float)(rng.normal() * 0.5 / std::sqrt((double)d));
        normalise(kp, d);
        for (int c = 0; c < d; ++c) q[c] = operand(q[c]);   // the positive logit is plain FP32: kpos stays as is
    }
    const double a = std::sqrt(3.0 / d);
    p.bank.resize((size_t)k * d);
    if (bank_type == compress::kBankBF16) p.bank16.resize(p.bank.size());
    for (size_t e = 0; e < p.bank.size(); ++e) {
        const float x = (float)((2 * rng.uniform() - 1) * a);
        if (bank_type == compress::kBankBF16) {
            p.bank16[e] = lab::bf16_bits(x);
            p.bank[e] = lab::bf16_value(p.bank16[e]);
        } else {
            p.bank[e] = raw ? x : lab::round_tf32(x);
        }
    }
    return p;
}

struct Reference {
    std::vector<double> loss, grad, grad_bound, zmax;
    double mean = 0;
};

static Reference reference(const Problem& p) {
    Reference r;
    r.loss.assign(p.b, 0);
    r.zmax.assign(p.b, 0);
    r.grad.assign((size_t)p.b * p.d, 0);
    r.grad_bound.assign((size_t)p.b * p.d, 0);
    const double inv_tau = 1.0 / p.tau;
    #pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < p.b; ++i) {
        const float* q = &p.q[(size_t)i * p.d];
        const float* kp = &p.kpos[(size_t)i * p.d];
        std::vector<double> z(p.k + 1);
        auto key = [&](int j) { return j == 0 ? kp : &p.bank[(size_t)(j - 1) * p.d]; };
        double m = -INFINITY, zmax = 0;
        for (int j = 0; j <= p.k; ++j) {
            const float* kk = key(j);
            double s = 0;
            for (int c = 0; c < p.d; ++c) s += (double)q[c] * kk[c];
            z[j] = s * inv_tau;
            m = std::max(m, z[j]);
            zmax = std::max(zmax, std::fabs(z[j]));
        }
        double l = 0;
        for (double v : z) l += std::exp(v - m);
        const double lse = m + std::log(l);
        r.loss[i] = lse - z[0];
        r.zmax[i] = zmax;
        std::vector<double> g(p.d, 0), gb(p.d, 0);
        for (int j = 0; j <= p.k; ++j) {
            const double pj = std::exp(z[j] - lse);
            const float* kk = key(j);
            for (int c = 0; c < p.d; ++c) {
                g[c] += (pj - (j == 0)) * kk[c];
                gb[c] += (pj + (j == 0)) * std::fabs((double)kk[c]);
            }
        }
        for (int c = 0; c < p.d; ++c) {
            r.grad[(size_t)i * p.d + c] = g[c] * inv_tau / p.b;
            r.grad_bound[(size_t)i * p.d + c] = gb[c] * inv_tau / p.b;
        }
    }
    for (double v : r.loss) r.mean += v / p.b;
    return r;
}

template <typename T>
__global__ void __launch_bounds__(L::kRowThreads) naive_infonce_kernel(const float* q, const float* kpos, const T* bank,
                                                                       int k, int d, float scale2, float grad_scale,
                                                                       float* loss, float* grad) {
    extern __shared__ float sm[];
    float* qs = sm;
    float* kp = qs + d;
    float* w = kp + d;   // [kRowThreads]
    const int i = blockIdx.x;
    for (int c = threadIdx.x; c < d; c += L::kRowThreads) {
        qs[c] = q[(int64_t)i * d + c];
        kp[c] = kpos[(int64_t)i * d + c];
    }
    __syncthreads();
    auto logit = [&](int64_t j) {   // j = 0: positive, else bank row j - 1
        float acc = 0.f;
        for (int c = 0; c < d; ++c) acc = fmaf(qs[c], j == 0 ? kp[c] : L::to_float(bank[(j - 1) * d + c]), acc);
        return acc * scale2;
    };
    L::Online s = L::online_empty();
    for (int j = threadIdx.x; j <= k; j += L::kRowThreads) L::online_add(s, logit(j), 0.f);
    s = L::block_merge(s);
    const float z0 = logit(0);
    if (threadIdx.x == 0) loss[i] = L::kLn2 * (s.m + log2f(s.l) - z0);
    float acc[2] = {0.f, 0.f};
    for (int j0 = 0; j0 <= k; j0 += L::kRowThreads) {
        const int j = j0 + threadIdx.x;
        w[threadIdx.x] = j <= k ? exp2f(logit(j) - s.m) / s.l - (j == 0 ? 1.f : 0.f) : 0.f;
        __syncthreads();
        const int n = min(L::kRowThreads, k + 1 - j0);
        for (int r = 0; r < 2; ++r) {
            const int c = threadIdx.x + r * L::kRowThreads;
            if (c < d)
                for (int jj = 0; jj < n; ++jj) {
                    const int64_t jk = j0 + jj;
                    acc[r] = fmaf(w[jj], jk == 0 ? kp[c] : L::to_float(bank[(jk - 1) * d + c]), acc[r]);
                }
        }
        __syncthreads();
    }
    for (int r = 0; r < 2; ++r) {
        const int c = threadIdx.x + r * L::kRowThreads;
        if (c < d) grad[(int64_t)i * d + c] = acc[r] * grad_scale;
    }
}

int main(int argc, char** argv) {
    lab::Args args(argc, argv);
    const std::string which = args.positional(0, "all");
    const int b = std::stoi(args.positional(1, "256"));
    const int k = std::stoi(args.positional(2, "65536"));
    const int d = std::stoi(args.positional(3, "128"));
    const std::string bank = args.positional(4, "f32");
    const float tau = std::stof(args.positional(5, "0.2"));
    const bool raw = args.has("--raw");
    const int reps = (int)args.get("--reps", 20);
    const bool timing = !args.has("--no-timing"), checking = !args.has("--no-check");
    if (bank != "f32" && bank != "bf16") { std::fprintf(stderr, "bank type must be f32 or bf16\n"); return 2; }
    const int bank_type = bank == "bf16" ? compress::kBankBF16 : compress::kBankF32;
    std::vector<int> variants = which == "all" ? std::vector<int>{1, 3} : std::vector<int>{std::stoi(which)};

    const lab::Peaks peaks = lab::device_peaks();
    const Problem p = make_problem(b, k, d, bank_type, tau, raw, (uint64_t)args.get("--seed", 4321));
    int sms = 0;
    CUDA_CHECK(L::device_sm_count(&sms));
    const L::Plan plan = L::make_plan(b, k, d, false, sms);
    const double flops = 2.0 * b * (double)k * d * 2;   // logits + P V
    const int elem = bank_type == compress::kBankBF16 ? 2 : 4;
    const double bank_bytes = (double)k * d * elem;
    const double peak = bank_type == compress::kBankBF16 ? peaks.bf16_tflops : peaks.tf32_tflops;
    std::printf("device %s: %d SMs; InfoNCE B=%d K=%d D=%d bank=%s tau=%g %s\n", peaks.name.c_str(), sms, b, k, d,
                bank.c_str(), tau, raw ? "raw F32 operands" : "exact operands");
    std::printf("plan: %d splits x %lld anchors, %d row tiles, workspace %lld bytes\n", plan.splits,
                (long long)plan.per_split, plan.row_tiles, (long long)plan.bytes);
    Reference ref;
    if (checking) ref = reference(p);

    DeviceBuffer dq(p.q.size() * 4), dk(p.kpos.size() * 4), dbank(p.bank.size() * elem);
    dq.upload(p.q.data(), p.q.size() * 4);
    dk.upload(p.kpos.data(), p.kpos.size() * 4);
    if (bank_type == compress::kBankBF16) dbank.upload(p.bank16.data(), p.bank16.size() * 2);
    else dbank.upload(p.bank.data(), p.bank.size() * 4);
    cudaError_t st = cudaSuccess;
    const int64_t ws_bytes = compress::infonce_workspace_bytes(b, k, d, bank_type, &st);
    DeviceBuffer ws((size_t)std::max<int64_t>(ws_bytes, 256));
    DeviceBuffer loss1(b * 4), mean1(4), grad1((size_t)b * d * 4), loss2(b * 4), mean2(4), grad2((size_t)b * d * 4);
    cudaStream_t stream;
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));

    auto run = [&](int v, DeviceBuffer& lo, DeviceBuffer& me, DeviceBuffer& gr) -> cudaError_t {
        if (v == 1) {
            if (d > 2 * L::kRowThreads) return cudaErrorNotSupported;
            const size_t smem = (size_t)(2 * d + L::kRowThreads) * 4;
            if (bank_type == compress::kBankBF16)
                naive_infonce_kernel<L::bf16><<<b, L::kRowThreads, smem, stream>>>(
                    dq.as<float>(), dk.as<float>(), dbank.as<L::bf16>(), k, d, L::kLog2e / tau, 1.f / (tau * b),
                    lo.as<float>(), gr.as<float>());
            else
                naive_infonce_kernel<float><<<b, L::kRowThreads, smem, stream>>>(
                    dq.as<float>(), dk.as<float>(), dbank.as<float>(), k, d, L::kLog2e / tau, 1.f / (tau * b),
                    lo.as<float>(), gr.as<float>());
            cudaError_t e = cudaGetLastError();
            return e != cudaSuccess ? e : compress::mean_f32(lo.as<float>(), b, me.as<float>(), stream);
        }
        if (v == 3)
            return compress::infonce_fused(dq.as<float>(), dk.as<float>(), dbank.p, bank_type, b, k, d, 1.f / tau,
                                           lo.as<float>(), me.as<float>(), gr.as<float>(), ws.p, ws.bytes, stream);
        return cudaErrorInvalidValue;
    };

    bool all_ok = true;
    for (int v : variants) {
        std::printf("variant %d: %s\n", v, v == 1 ? "naive (1 CTA/query, scalar FP32)" : "production infonce_fused");
        ws.poison(); loss1.poison(); mean1.poison(); grad1.poison();
        cudaError_t e = run(v, loss1, mean1, grad1);
        if (e == cudaErrorNotSupported) { std::printf("    not supported for this shape\n"); cudaGetLastError(); continue; }
        CUDA_CHECK(e);
        CUDA_CHECK(cudaStreamSynchronize(stream));
        const auto loss = loss1.download<float>(b);
        const auto mean = mean1.download<float>(1);
        const auto grad = grad1.download<float>((size_t)b * d);
        bool ok = true;
        if (checking) {
            // Same tolerance model as compress_loss.cu (see there); u_p: rounding of P for P V.
            const bool tensor = v >= 3;
            const double u_in = raw && tensor ? (bank_type == compress::kBankBF16 ? 1.0 / 512 : 1.0 / 2048) : 0.0;
            const double u_p = !tensor ? 1.0 / (1 << 21) : (bank_type == compress::kBankBF16 ? 1.0 / 256 : 1.0 / 1024);
            const double e_z = 1e-6 / tau * std::sqrt(d / 16.0) + u_in / tau;
            std::vector<double> tl(b), tg((size_t)b * d);
            double tmean = 0, gmax = 0;
            for (double g : ref.grad_bound) gmax = std::max(gmax, g);
            for (int i = 0; i < b; ++i) { tl[i] = 4 * e_z + 1e-5 * (ref.zmax[i] + std::fabs(ref.loss[i])); tmean += tl[i] / b; }
            for (size_t j = 0; j < tg.size(); ++j) tg[j] = (u_p + 2 * e_z) * ref.grad_bound[j] + 1e-6 * gmax;
            const lab::Check cl = lab::check_close(loss.data(), ref.loss.data(), tl.data(), b);
            const lab::Check cm = lab::check_close(mean.data(), &ref.mean, &tmean, 1);
            const lab::Check cg = lab::check_close(grad.data(), ref.grad.data(), tg.data(), tg.size());
            lab::print_check("loss", cl);
            lab::print_check("mean", cm);
            lab::print_check("grad", cg);
            ok = cl.ok() && cm.ok() && cg.ok();
        }
        ws.poison(); loss2.poison(); mean2.poison(); grad2.poison();
        CUDA_CHECK(run(v, loss2, mean2, grad2));
        CUDA_CHECK(cudaStreamSynchronize(stream));
        const bool same = loss2.download<float>(b) == loss && mean2.download<float>(1) == mean &&
                          grad2.download<float>((size_t)b * d) == grad;
        std::printf("    bitwise repeat: %s\n", same ? "identical" : "DIFFERENT");
        ok = ok && same;
        if (!ok) std::printf("    VALIDATION FAILED\n");
        all_ok = all_ok && ok;
        if (timing) {
            const int n = v == 1 ? std::min(reps, 3) : reps;
            const double ms = lab::median_ms([&] { run(v, loss2, mean2, grad2); }, v == 1 ? 1 : 3, n, stream);
            const double tf = flops / (ms * 1e-3) / 1e12, gb = bank_bytes / (ms * 1e-3) / 1e9;
            std::printf("    time %.1f us (median of %d): %.1f TFLOP/s (%.0f%% of %.0f), bank %.0f GB/s (%.0f%% of %.0f)\n",
                        ms * 1e3, n, tf, 100 * tf / peak, peak, gb, 100 * gb / peaks.gbps, peaks.gbps);
        }
    }
    CUDA_CHECK(cudaStreamDestroy(stream));
    std::printf("%s\n", all_ok ? "ALL CHECKS PASSED" : "SOME CHECKS FAILED");
    return all_ok ? 0 : 1;
}
