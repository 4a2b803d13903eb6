// Kernel lab for the fused CompRess loss (kernels/loss_fused.cu), in the style of llm.c's dev/cuda: a CPU
// reference in double, numbered GPU variants, validation against the reference (errors against a stated
// tolerance, bitwise repeatability) and timing (cudaEvent median) with achieved TFLOP/s and bank GB/s vs peak.
// The production source is #included, so what is validated here is what engine-native ships.
// Variants: 1 naive (one CTA per query, scalar FP32, two passes over the bank)
//           2 split-K scalar (one CTA per query and split) + the production merge kernel
//           3 production: compress::compress_loss_fused, exactly what the JNI calls
//           4..9 the production split kernel with other tiles (KT, STAGES) = (16,2) (16,3) (16,4) (32,2) (32,3)
//             (32,4); only for Dt, Ds in (64, 128]. One of them equals the production config (marked).
// Usage: compress_loss VARIANT|all [B K D f32|bf16 TAU] [--dt N] [--ds N] [--1q|--2q] [--raw] [--reps N]
//                      [--seed N] [--no-timing] [--no-check]
//   D sets Dt = Ds (--dt/--ds override); --1q uses one bank for both sides (Ds = Dt). Default 256 128000 128 f32
//   0.04 --2q. --raw keeps queries (and an F32 bank) as plain F32 instead of pre-rounding them to the
//   tensor-core operand type; the tolerance then also models operand rounding (looser). The default (exact
//   operands) isolates the kernel's own errors: FP32 accumulation order and the rounding of P in P V.
// Exit status: 0 all run checks passed, 1 a validation failed, 2 a CUDA error.
#include "../loss_fused.cu"
#include "../loss_rows.cu"
#include "lab_common.cuh"
#include "compress_reference.h"

namespace L = compress::loss_detail;
using lab::DeviceBuffer;

// Tolerance model. e_z: error of one logit (natural units) = FP32 accumulation (a few ulps of the dot product,
// growing like sqrt(D)) plus, with --raw, the rounding of the operands (u_in relative, per logit ~ u_in/tau).
// loss_i: 4 e_z + 1e-5 (max|z| + |loss|) for the FP32 sums over K of terms up to max|z|.
// grad_ic: (u_p + 2 e_z) * bound_ic, bound_ic = sum_j (ps + pt)|Qs_jc|/(tau B): each probability carries a
// relative error u_p (its rounding to BF16/TF32 for P V) plus ~e_z from its logit.
struct Tolerance {
    double u_in, u_p;
};
static Tolerance tolerance_for(int variant, const Problem& p) {
    const bool tensor = variant >= 3;
    const double u_in = !p.raw || !tensor ? 0.0 : (p.bank_type == compress::kBankBF16 ? 1.0 / 512 : 1.0 / 2048);
    const double u_p = !tensor ? 1.0 / (1 << 21) : (p.bank_type == compress::kBankBF16 ? 1.0 / 256 : 1.0 / 1024);
    return Tolerance{u_in, u_p};
}

// ---- variant 1: naive ---------------------------------------------------------------------------------
constexpr int kLabThreads = L::kRowThreads;   // block_merge is sized for this

template <typename T>
__device__ float lab_logit(const T* bank, const float* q, int d, int64_t j, float scale2) {
    const T* row = bank + j * d;
    float acc = 0.f;
    for (int c = 0; c < d; ++c) acc = fmaf(q[c], L::to_float(row[c]), acc);
    return acc * scale2;
}

template <typename T>
__global__ void __launch_bounds__(kLabThreads) naive_kernel(const float* tq, const float* sq, const T* qt, const T* qs,
                                                            int k, int dt, int ds, float scale2, float grad_scale,
                                                            float* loss, float* grad) {
    extern __shared__ float sm[];
    float* t = sm;
    float* s = t + dt;
    float* w = s + ds;   // [kLabThreads]
    const int i = blockIdx.x;
    for (int c = threadIdx.x; c < dt; c += kLabThreads) t[c] = tq[(int64_t)i * dt + c];
    for (int c = threadIdx.x; c < ds; c += kLabThreads) s[c] = sq[(int64_t)i * ds + c];
    __syncthreads();
    L::Online ot = L::online_empty(), os = L::online_empty();
    for (int j = threadIdx.x; j < k; j += kLabThreads) {
        const float a = lab_logit(qt, t, dt, j, scale2), b = lab_logit(qs, s, ds, j, scale2);
        L::online_add(ot, a, a - b);
        L::online_add(os, b, 0.f);
    }
    ot = L::block_merge(ot);
    os = L::block_merge(os);
    if (threadIdx.x == 0) loss[i] = L::kLn2 * (ot.a / ot.l + (os.m - ot.m) + (log2f(os.l) - log2f(ot.l)));
    float acc[2] = {0.f, 0.f};   // columns threadIdx.x and threadIdx.x + 256 (Ds <= 512)
    for (int j0 = 0; j0 < k; j0 += kLabThreads) {
        const int j = j0 + threadIdx.x;
        float wj = 0.f;
        if (j < k) {
            const float a = lab_logit(qt, t, dt, j, scale2), b = lab_logit(qs, s, ds, j, scale2);
            wj = exp2f(b - os.m) / os.l - exp2f(a - ot.m) / ot.l;
        }
        w[threadIdx.x] = wj;
        __syncthreads();
        const int n = min(kLabThreads, k - j0);
        for (int r = 0; r < 2; ++r) {
            const int c = threadIdx.x + r * kLabThreads;
            if (c < ds)
                for (int jj = 0; jj < n; ++jj) acc[r] = fmaf(w[jj], L::to_float(qs[(int64_t)(j0 + jj) * ds + c]), acc[r]);
        }
        __syncthreads();
    }
    for (int r = 0; r < 2; ++r) {
        const int c = threadIdx.x + r * kLabThreads;
        if (c < ds) grad[(int64_t)i * ds + c] = acc[r] * grad_scale;
    }
}

// ---- variant 2: split-K scalar, production merge ------------------------------------------------------
template <typename T>
__global__ void __launch_bounds__(kLabThreads) splitk_scalar_kernel(const float* tq, const float* sq, const T* qt,
                                                                    const T* qs, int b, int k, int dt, int ds,
                                                                    float scale2, int64_t per_split, float* stats,
                                                                    float* gs, float* gt, unsigned* counter) {
    extern __shared__ float sm[];
    float* t = sm;
    float* s = t + dt;
    float* wt = s + ds;            // [kLabThreads]
    float* ws = wt + kLabThreads;  // [kLabThreads]
    const int i = blockIdx.x, split = blockIdx.y;
    const int64_t kb = split * per_split, ke = min((int64_t)k, kb + per_split);
    if (i == 0 && split == 0 && threadIdx.x == 0) *counter = 0u;
    for (int c = threadIdx.x; c < dt; c += kLabThreads) t[c] = tq[(int64_t)i * dt + c];
    for (int c = threadIdx.x; c < ds; c += kLabThreads) s[c] = sq[(int64_t)i * ds + c];
    __syncthreads();
    L::Online ot = L::online_empty(), os = L::online_empty();
    for (int64_t j = kb + threadIdx.x; j < ke; j += kLabThreads) {
        const float a = lab_logit(qt, t, dt, j, scale2), bb = lab_logit(qs, s, ds, j, scale2);
        L::online_add(ot, a, a - bb);
        L::online_add(os, bb, 0.f);
    }
    ot = L::block_merge(ot);
    os = L::block_merge(os);
    if (threadIdx.x == 0) {
        float* st = stats + (int64_t)split * 5 * b + i;
        st[0] = os.m; st[b] = os.l; st[2 * (int64_t)b] = ot.m; st[3 * (int64_t)b] = ot.l; st[4 * (int64_t)b] = ot.a;
    }
    float at[2] = {0.f, 0.f}, as[2] = {0.f, 0.f};
    for (int64_t j0 = kb; j0 < ke; j0 += kLabThreads) {
        const int64_t j = j0 + threadIdx.x;
        float pt = 0.f, ps = 0.f;
        if (j < ke) {
            pt = exp2f(lab_logit(qt, t, dt, j, scale2) - ot.m);
            ps = exp2f(lab_logit(qs, s, ds, j, scale2) - os.m);
        }
        wt[threadIdx.x] = pt;
        ws[threadIdx.x] = ps;
        __syncthreads();
        const int n = (int)min((int64_t)kLabThreads, ke - j0);
        for (int r = 0; r < 2; ++r) {
            const int c = threadIdx.x + r * kLabThreads;
            if (c < ds)
                for (int jj = 0; jj < n; ++jj) {
                    const float v = L::to_float(qs[(j0 + jj) * ds + c]);
                    at[r] = fmaf(wt[jj], v, at[r]);
                    as[r] = fmaf(ws[jj], v, as[r]);
                }
        }
        __syncthreads();
    }
    for (int r = 0; r < 2; ++r) {
        const int c = threadIdx.x + r * kLabThreads;
        if (c < ds) {
            const int64_t off = ((int64_t)split * b + i) * ds + c;
            gs[off] = as[r];
            gt[off] = at[r];
        }
    }
}

// ---- variants -----------------------------------------------------------------------------------------
struct DeviceProblem {
    DeviceBuffer tq, sq, qt, qs;
    const void* tbank;
    const void* sbank;
    explicit DeviceProblem(const Problem& p)
        : tq(p.tq.size() * 4), sq(p.sq.size() * 4),
          qt(p.bank_type == compress::kBankBF16 ? p.qt16.size() * 2 : p.qt.size() * 4),
          qs(p.one_q ? 16 : (p.bank_type == compress::kBankBF16 ? p.qs16.size() * 2 : p.qs.size() * 4)) {
        tq.upload(p.tq.data(), p.tq.size() * 4);
        sq.upload(p.sq.data(), p.sq.size() * 4);
        if (p.bank_type == compress::kBankBF16) qt.upload(p.qt16.data(), p.qt16.size() * 2);
        else qt.upload(p.qt.data(), p.qt.size() * 4);
        if (!p.one_q) {
            if (p.bank_type == compress::kBankBF16) qs.upload(p.qs16.data(), p.qs16.size() * 2);
            else qs.upload(p.qs.data(), p.qs.size() * 4);
        }
        tbank = qt.p;
        sbank = p.one_q ? qt.p : qs.p;
    }
};

struct Outputs {
    DeviceBuffer loss, mean, grad;
    Outputs(int b, int ds) : loss((size_t)b * 4), mean(4), grad((size_t)b * ds * 4) {}
    void poison() { loss.poison(); mean.poison(); grad.poison(); }
};

struct Lab {
    const Problem& p;
    DeviceProblem& d;
    DeviceBuffer& ws;
    L::Plan plan;

    L::FusedCall call(Outputs& o) const {
        return L::FusedCall{d.tq.as<float>(), d.sq.as<float>(), d.tbank, d.sbank, nullptr, p.b, p.k, p.dt, p.ds,
                            1.f / p.tau, o.loss.as<float>(), o.mean.as<float>(), o.grad.as<float>(), ws.p};
    }

    template <typename T>
    cudaError_t naive(Outputs& o, cudaStream_t s) const {
        if (p.ds > 2 * kLabThreads) return cudaErrorNotSupported;
        const size_t smem = (size_t)(p.dt + p.ds + kLabThreads) * 4;
        if (smem > 48 * 1024) return cudaErrorNotSupported;
        naive_kernel<T><<<p.b, kLabThreads, smem, s>>>(d.tq.as<float>(), d.sq.as<float>(),
                                                       static_cast<const T*>(d.tbank), static_cast<const T*>(d.sbank),
                                                       p.k, p.dt, p.ds, L::kLog2e / p.tau, 1.f / (p.tau * p.b),
                                                       o.loss.as<float>(), o.grad.as<float>());
        cudaError_t e = cudaGetLastError();
        return e != cudaSuccess ? e : compress::mean_f32(o.loss.as<float>(), p.b, o.mean.as<float>(), s);
    }

    template <typename T>
    cudaError_t splitk(Outputs& o, cudaStream_t s) const {
        if (p.ds > 2 * kLabThreads) return cudaErrorNotSupported;
        const size_t smem = (size_t)(p.dt + p.ds + 2 * kLabThreads) * 4;
        if (smem > 48 * 1024) return cudaErrorNotSupported;
        char* base = static_cast<char*>(ws.p);
        float* stats = reinterpret_cast<float*>(base + plan.stats_off);
        float* gs = reinterpret_cast<float*>(base + plan.gs_off);
        float* gt = reinterpret_cast<float*>(base + plan.gt_off);
        unsigned* counter = reinterpret_cast<unsigned*>(base);
        splitk_scalar_kernel<T><<<dim3(p.b, plan.splits), kLabThreads, smem, s>>>(
            d.tq.as<float>(), d.sq.as<float>(), static_cast<const T*>(d.tbank), static_cast<const T*>(d.sbank), p.b,
            p.k, p.dt, p.ds, L::kLog2e / p.tau, plan.per_split, stats, gs, gt, counter);
        cudaError_t e = cudaGetLastError();
        if (e != cudaSuccess) return e;
        L::MergeArgs m{};
        m.stats = stats; m.gs = gs; m.gt = gt;
        m.b = p.b; m.ds = p.ds; m.splits = plan.splits;
        m.scale2 = L::kLog2e / p.tau;
        m.grad_scale = 1.f / (p.tau * p.b);
        m.loss = o.loss.as<float>(); m.loss_mean = o.mean.as<float>(); m.grad = o.grad.as<float>();
        m.counter = counter;
        return L::launch_merge(m, true, s);
    }

    template <typename T, int KT, int ST>
    cudaError_t alt(Outputs& o, cudaStream_t s) const {
        if (L::pad_dim(p.dt) != 128 || L::pad_dim(p.ds) != 128) return cudaErrorNotSupported;
        const L::FusedCall f = call(o);
        constexpr int E = (int)sizeof(T);
        if (p.one_q) {
            if constexpr (L::fused_smem_bytes(E, 128, 128, true, true, KT, ST) <= L::kSmemH100)
                return L::run_fused<L::FusedConfig<T, 128, 128, true, true, KT, ST>>(f, plan, s);
        } else {
            if constexpr (L::fused_smem_bytes(E, 128, 128, true, false, KT, ST) <= L::kSmemH100)
                return L::run_fused<L::FusedConfig<T, 128, 128, true, false, KT, ST>>(f, plan, s);
        }
        return cudaErrorNotSupported;
    }

    template <typename T>
    cudaError_t run_typed(int v, Outputs& o, cudaStream_t s) const {
        switch (v) {
            case 1: return naive<T>(o, s);
            case 2: return splitk<T>(o, s);
            case 3: return compress::compress_loss_fused(d.tq.as<float>(), d.sq.as<float>(), d.tbank, d.sbank,
                                                         p.bank_type, p.b, p.k, p.dt, p.ds, 1.f / p.tau,
                                                         o.loss.as<float>(), o.mean.as<float>(), o.grad.as<float>(),
                                                         ws.p, ws.bytes, s);
            case 4: return alt<T, 16, 2>(o, s);
            case 5: return alt<T, 16, 3>(o, s);
            case 6: return alt<T, 16, 4>(o, s);
            case 7: return alt<T, 32, 2>(o, s);
            case 8: return alt<T, 32, 3>(o, s);
            case 9: return alt<T, 32, 4>(o, s);
            default: return cudaErrorInvalidValue;
        }
    }
    cudaError_t run(int v, Outputs& o, cudaStream_t s) const {
        return p.bank_type == compress::kBankBF16 ? run_typed<L::bf16>(v, o, s) : run_typed<float>(v, o, s);
    }
};

// (KT, STAGES) of variants 4..9, and the production config for this problem (KT, STAGES, smem, rows, col splits).
static const int kAltTiles[6][2] = {{16, 2}, {16, 3}, {16, 4}, {32, 2}, {32, 3}, {32, 4}};
struct ConfigInfo {
    int kt = 0, stages = 0, rows = 0, cs = 0;
    size_t smem = 0;
    bool supported = false;
};
static ConfigInfo production_config(const Problem& p) {
    ConfigInfo info;
    if (p.dt > compress::kFusedMaxDim || p.ds > compress::kFusedMaxDim) return info;
    L::dispatch_compress(p.bank_type, p.dt, p.ds, p.one_q, [&](auto cfg) {
        using C = decltype(cfg);
        info = ConfigInfo{C::KT, C::STAGES, C::ROWS, C::CS, C::SMEM, true};
        return cudaSuccess;
    });
    return info;
}

static const char* variant_name(int v) {
    switch (v) {
        case 1: return "naive (1 CTA/query, scalar FP32)";
        case 2: return "split-K scalar + production merge";
        case 3: return "production compress_loss_fused";
        default: return "production kernel, alternative tile";
    }
}

int main(int argc, char** argv) {
    lab::Args args(argc, argv);
    const std::string which = args.positional(0, "all");
    const int b = std::stoi(args.positional(1, "256"));
    const int k = std::stoi(args.positional(2, "128000"));
    const int d = std::stoi(args.positional(3, "128"));
    const std::string bank = args.positional(4, "f32");
    const float tau = std::stof(args.positional(5, "0.04"));
    const int dt = (int)args.get("--dt", d), ds = (int)args.get("--ds", d);
    const bool one_q = args.has("--1q");
    const bool raw = args.has("--raw");
    const int reps = (int)args.get("--reps", 20);
    const uint64_t seed = (uint64_t)args.get("--seed", 1234);
    const bool timing = !args.has("--no-timing"), checking = !args.has("--no-check");
    if (bank != "f32" && bank != "bf16") { std::fprintf(stderr, "bank type must be f32 or bf16\n"); return 2; }
    const int bank_type = bank == "bf16" ? compress::kBankBF16 : compress::kBankF32;
    if (one_q && ds != dt) { std::fprintf(stderr, "--1q needs Dt == Ds\n"); return 2; }

    std::vector<int> variants;
    if (which == "all") for (int v = 1; v <= 9; ++v) variants.push_back(v);
    else variants.push_back(std::stoi(which));

    const lab::Peaks peaks = lab::device_peaks();
    Problem p = make_problem(b, k, dt, ds, bank_type, tau, one_q, raw, seed);
    int sms = 0;
    CUDA_CHECK(L::device_sm_count(&sms));
    const L::Plan plan = L::make_plan(p.b, p.k, p.ds, true, sms);
    const ConfigInfo prod = production_config(p);
    const double flops = 2.0 * p.b * p.k * (p.dt + p.ds) + 4.0 * p.b * p.k * p.ds;
    const int elem = bank_type == compress::kBankBF16 ? 2 : 4;
    const double bank_bytes = (double)p.k * (p.dt + (one_q ? 0 : p.ds)) * elem;
    const double peak_tflops = bank_type == compress::kBankBF16 ? peaks.bf16_tflops : peaks.tf32_tflops;

    std::printf("device %s: %d SMs, peaks %.0f TFLOP/s %s, %.0f GB/s%s\n", peaks.name.c_str(), sms, peak_tflops,
                bank_type == compress::kBankBF16 ? "bf16" : "tf32", peaks.gbps, peaks.estimated ? " (estimated)" : "");
    std::printf("CompRess-%s B=%d K=%d Dt=%d Ds=%d bank=%s tau=%g %s; %.2f GFLOP, bank %.1f MB\n", one_q ? "1q" : "2q",
                p.b, p.k, p.dt, p.ds, bank.c_str(), tau, raw ? "raw F32 operands" : "exact operands", flops / 1e9,
                bank_bytes / 1e6);
    std::printf("plan: %d splits x %lld anchors, %d row tiles of %d, workspace %lld bytes (%.2f MiB)\n", plan.splits,
                (long long)plan.per_split, plan.row_tiles, plan.rows, (long long)plan.bytes, plan.bytes / 1048576.0);
    if (prod.supported)
        std::printf("production tile: KT=%d STAGES=%d smem=%zu rows=%d col-splits=%d\n", prod.kt, prod.stages, prod.smem,
                    prod.rows, prod.cs);
    else
        std::printf("production fused kernel: not supported for D > %d (the unfused path handles it)\n",
                    compress::kFusedMaxDim);

    Reference ref;
    if (checking) {
        std::printf("CPU reference (double)...\n");
        ref = reference(p);
    }
    DeviceProblem dp(p);
    DeviceBuffer ws((size_t)std::max<int64_t>(plan.bytes, 256));
    Lab lab{p, dp, ws, plan};
    cudaStream_t stream;
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    Outputs out1(p.b, p.ds), out2(p.b, p.ds);

    bool all_ok = true;
    int best_v = 0;
    double best_us = 1e300, prod_us = 0;
    for (int v : variants) {
        const bool is_prod_tile = v >= 4 && prod.supported && L::pad_dim(p.dt) == 128 && L::pad_dim(p.ds) == 128 &&
                                  kAltTiles[v - 4][0] == prod.kt && kAltTiles[v - 4][1] == prod.stages;
        if (v >= 4) std::printf("variant %d: %s KT=%d STAGES=%d%s\n", v, variant_name(v), kAltTiles[v - 4][0],
                                kAltTiles[v - 4][1], is_prod_tile ? " (= production tile)" : "");
        else std::printf("variant %d: %s\n", v, variant_name(v));
        ws.poison();
        out1.poison();
        cudaError_t e = lab.run(v, out1, stream);
        if (e == cudaErrorNotSupported) {
            cudaGetLastError();
            // The production kernel must take every D <= 256 and refuse larger ones.
            const bool expected = v != 3 || p.dt > compress::kFusedMaxDim || p.ds > compress::kFusedMaxDim;
            std::printf("    not supported for this shape/GPU%s\n", expected ? "" : ": UNEXPECTED for D <= 256");
            all_ok = all_ok && expected;
            continue;
        }
        if (v == 3 && (p.dt > compress::kFusedMaxDim || p.ds > compress::kFusedMaxDim)) {
            std::printf("    production accepted D > %d: UNEXPECTED\n", compress::kFusedMaxDim);
            all_ok = false;
        }
        CUDA_CHECK(e);
        CUDA_CHECK(cudaStreamSynchronize(stream));
        const std::vector<float> loss = out1.loss.download<float>(p.b);
        const std::vector<float> mean = out1.mean.download<float>(1);
        const std::vector<float> grad = out1.grad.download<float>((size_t)p.b * p.ds);
        bool ok = true;
        if (checking) {
            const Tolerance tol = tolerance_for(v, p);
            const double inv_tau = 1.0 / p.tau;
            const double e_z = 1e-6 * inv_tau * std::sqrt(std::max(p.dt, p.ds) / 16.0) + tol.u_in * inv_tau;
            std::vector<double> tl(p.b), tg((size_t)p.b * p.ds);
            double tmean = 0, gmax = 0;
            for (double g : ref.grad_bound) gmax = std::max(gmax, g);
            for (int i = 0; i < p.b; ++i) {
                tl[i] = 4 * e_z + 1e-5 * (ref.zmax[i] + std::fabs(ref.loss[i]));
                tmean += tl[i] / p.b;
            }
            for (size_t e2 = 0; e2 < tg.size(); ++e2) tg[e2] = (tol.u_p + 2 * e_z) * ref.grad_bound[e2] + 1e-6 * gmax;
            const lab::Check cl = lab::check_close(loss.data(), ref.loss.data(), tl.data(), tl.size());
            const lab::Check cm = lab::check_close(mean.data(), &ref.mean, &tmean, 1);
            const lab::Check cg = lab::check_close(grad.data(), ref.grad.data(), tg.data(), tg.size());
            lab::print_check("loss", cl);
            lab::print_check("mean", cm);
            lab::print_check("grad", cg);
            ok = cl.ok() && cm.ok() && cg.ok();
        }
        // Bitwise repeatability: a second run into fresh (poisoned) buffers with a poisoned workspace.
        ws.poison();
        out2.poison();
        CUDA_CHECK(lab.run(v, out2, stream));
        CUDA_CHECK(cudaStreamSynchronize(stream));
        const bool same = out2.loss.download<float>(p.b) == loss && out2.mean.download<float>(1) == mean &&
                          out2.grad.download<float>((size_t)p.b * p.ds) == grad;
        // (vector<float> == compares values: NaN != NaN, so a NaN anywhere also fails here)
        std::printf("    bitwise repeat: %s\n", same ? "identical" : "DIFFERENT");
        ok = ok && same;
        if (!ok) std::printf("    VALIDATION FAILED\n");
        all_ok = all_ok && ok;
        if (timing) {
            const int n = v == 1 ? std::min(reps, 3) : reps;
            const double ms = lab::median_ms([&] { lab.run(v, out2, stream); }, v == 1 ? 1 : 3, n, stream);
            const double us = ms * 1e3;
            const double tflops = flops / (ms * 1e-3) / 1e12, gbps = bank_bytes / (ms * 1e-3) / 1e9;
            std::printf("    time %.1f us (median of %d): %.1f TFLOP/s (%.0f%% of %.0f), bank %.0f GB/s (%.0f%% of %.0f)\n",
                        us, n, tflops, 100 * tflops / peak_tflops, peak_tflops, gbps, 100 * gbps / peaks.gbps, peaks.gbps);
            if (ok && us < best_us) { best_us = us; best_v = v; }
            if (v == 3) prod_us = us;
        }
    }
    if (timing && best_v != 0) {
        std::printf("fastest valid variant: %d (%.1f us)", best_v, best_us);
        if (prod_us > 0) std::printf("; production %.1f us", prod_us);
        const bool best_is_prod = best_v == 3 || (best_v >= 4 && kAltTiles[best_v - 4][0] == prod.kt &&
                                                  kAltTiles[best_v - 4][1] == prod.stages);
        std::printf("%s\n", best_is_prod || prod_us == 0 ? ""
                                                         : "  -> consider this tile for AutoTile in kernels/loss_fused.cu "
                                                           "(within noise? rerun with --reps 100)");
    }
    CUDA_CHECK(cudaStreamDestroy(stream));
    std::printf("%s\n", all_ok ? "ALL CHECKS PASSED" : "SOME CHECKS FAILED");
    return all_ok ? 0 : 1;
}
