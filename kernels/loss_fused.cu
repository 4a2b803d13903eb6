// Fused CompRess and MoCo-InfoNCE losses with their gradients over a memory bank; the B x K logits never exist.
// CompRess: zt = T Qt^T / tau, zs = S Qs^T / tau, loss_i = KL(softmax zt_i || softmax zs_i),
//           dL/dS_i = sum_j (ps_ij - pt_ij) Qs_j / (tau B).
// InfoNCE:  z_i = [q_i.kpos_i, q_i Q^T] / tau, loss_i = logsumexp(z_i) - z_i0,
//           dL/dq_i = sum_j (p_ij - [j==0]) key_j / (tau B).
// Launch: (1) split kernel, grid (ceil(B / ROWS), S), 128 threads = 4 warps. Each warp owns 16 query rows (and,
//   when the accumulators would not fit, half of the output columns); the CTA streams its K/S anchors through a
//   cp.async shared-memory pipeline in tiles of KT, computes logits on tensor cores (mma.sync BF16 m16n8k16 for
//   BF16 banks, TF32 m16n8k8 for F32 banks; FP32 accumulation and FP32 softmax), keeps an online softmax per
//   side plus the unnormalised accumulators Gt = sum_j exp(zt_j - mt) Qs_j and Gs = sum_j exp(zs_j - ms) Qs_j in
//   registers (flash-attention style, both softmaxes sharing V = Qs), and writes per-split partials to the
//   workspace. (2) merge kernel, one 128-thread block per query: combines the splits in split order (no float
//   atomics: bitwise reproducible on a given GPU) and its last block writes the mean loss.
// Softmax math runs in base 2 (logits pre-scaled by log2 e) so each exp is one ex2 instruction.
#include <cuda_bf16.h>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include "loss_device.cuh"
#include "loss_kernels.cuh"
#include "launch.cuh"

namespace compress {
namespace loss_detail {

constexpr int kThreads = 128;                    // split kernel: 4 warps
constexpr int kMergeThreads = 128;
constexpr int kSplitUnit = 32;                   // split boundaries are multiples of this (so of every KT)
constexpr int64_t kWorkspaceCap = 16ll << 20;    // fewer splits rather than more workspace than this
constexpr int kCtasPerSm = 2;                    // splits are sized for this many resident CTAs per SM
constexpr size_t kSmemTarget = 112 * 1024;       // two CTAs per SM fit an H100 (228 KB per SM)
constexpr size_t kSmemA100 = 166912;             // per-block opt-in maximum on A100: every production config fits
constexpr size_t kSmemH100 = 232448;             // ... on H100: lab-only configs may go up to this

__host__ __device__ constexpr int pad_dim(int d) { return d <= 64 ? 64 : (d <= 128 ? 128 : 256); }
// Warps sharing one 16-row group, each owning 1/CS of the output columns, so that the accumulators
// (1 or 2 sides x DS columns over 16 rows) stay at 128 registers per thread.
__host__ __device__ constexpr int col_splits(int ds_pad, bool two) { return (two ? 2 : 1) * ds_pad > 256 ? 2 : 1; }
__host__ __device__ constexpr int rows_per_cta(int ds_pad, bool two) { return 16 * (4 / col_splits(ds_pad, two)); }
// Shared-memory row padding (elements), chosen so every fragment load is bank-conflict-free (checked on the CPU
// by kernels/dev/host_selftest): query tiles D + 8 (BF16 ldmatrix rows 16 B apart mod 128 B; F32 64-bit loads
// with a row stride of 8 mod 32 words); BF16 bank tiles D + 8; F32 bank tiles D with the XOR swizzle below,
// because they are read both as [anchor][dim] pairs (logits) and as [dim] columns of anchor pairs (P V).
constexpr int kQuerySkew = 8;
__host__ __device__ constexpr int bank_skew(int elem) { return elem == 2 ? 8 : 0; }
// F32 bank tile element (r, c) lives at column tf32_swizzle(r, c) of row r: flips bits 3-4 of c by
// (r + r/4) mod 4, which spreads both the logits' (row g, cols 2t..2t+1) and P V's (rows 2t / 2t+1, col g)
// patterns over all 32 banks. Keeps 4-element chunks and even pairs contiguous; needs D padded to 32.
__host__ __device__ constexpr int tf32_swizzle(int r, int c) { return c ^ (((r + (r >> 2)) & 3) << 3); }
constexpr size_t fused_smem_bytes(int elem, int dt, int ds, bool two, bool same, int kt, int stages) {
    const int query_elems = rows_per_cta(ds, two) * ((two ? dt + kQuerySkew : 0) + ds + kQuerySkew);
    const int stage_elems = kt * ((two && !same ? dt + bank_skew(elem) : 0) + ds + bank_skew(elem));
    return (size_t)(query_elems + stages * stage_elems) * elem;
}

// One compiled shape of the split kernel. DT/DS: padded teacher/student dims (64, 128, 256); TWO: CompRess
// (teacher + student) vs InfoNCE (one side); SAME: one bank for both sides (1q), loaded once per tile;
// KT anchors per pipeline stage, STAGES stages.
template <typename BankT, int DT_, int DS_, bool TWO_, bool SAME_, int KT_, int STAGES_>
struct FusedConfig {
    using Bank = BankT;
    static constexpr bool kBf16 = std::is_same<BankT, bf16>::value;
    static constexpr int E = (int)sizeof(BankT);
    static constexpr bool TWO = TWO_;
    static constexpr bool SAME = SAME_;
    static constexpr int DT = TWO_ ? DT_ : 0;
    static constexpr int DS = DS_;
    static constexpr int KT = KT_;
    static constexpr int STAGES = STAGES_;
    static constexpr int NT = KT / 8;                     // n8 logit tiles per warp and stage
    static constexpr int CS = col_splits(DS, TWO);
    static constexpr int CW = DS / CS;                    // output columns per warp
    static constexpr int ROWS = rows_per_cta(DS, TWO);
    static constexpr int LDT = TWO ? DT + kQuerySkew : 0;       // smem row strides (elements): query tiles
    static constexpr int LDQS = DS + kQuerySkew;
    static constexpr int LDBT = TWO ? DT + bank_skew(E) : 0;    // bank tiles
    static constexpr int LDBS = DS + bank_skew(E);
    static constexpr bool LOAD_T = TWO && !SAME;          // a separate teacher bank tile per stage
    static constexpr int STAGE_T = LOAD_T ? KT * LDBT : 0;
    static constexpr int STAGE_ELEMS = STAGE_T + KT * LDBS;
    static constexpr size_t SMEM = fused_smem_bytes(E, DT, DS, TWO, SAME, KT, STAGES);
    static_assert(std::is_same<BankT, float>::value || kBf16, "bank is F32 or BF16");
    static_assert(!SAME || (TWO && DT_ == DS_), "one-bank mode needs Dt == Ds");
    static_assert(KT % 16 == 0 && STAGES >= 2 && kSplitUnit % KT == 0, "tile shape");
    static_assert(CW % 32 == 0 && DS % 32 == 0 && DT % 32 == 0, "padded dims (the F32 swizzle works in 32s)");
    static_assert(SMEM % 16 == 0 && SMEM <= kSmemH100, "shared memory");
};

// The production tile choice: the deepest pipeline with KT = 32 that leaves room for two CTAs per SM, else
// KT = 16. Change it only with numbers from kernels/dev (make -C kernels/dev && kernels/dev/run_all.sh).
template <typename BankT, int DT, int DS, bool TWO, bool SAME>
struct AutoTile {
    static constexpr int E = (int)sizeof(BankT);
    static constexpr bool fits(int kt, int st) { return fused_smem_bytes(E, DT, DS, TWO, SAME, kt, st) <= kSmemTarget; }
};
template <typename BankT, int DT, int DS, bool TWO, bool SAME>
constexpr int auto_kt() {
    using A = AutoTile<BankT, DT, DS, TWO, SAME>;
    return A::fits(32, 2) ? 32 : 16;
}
template <typename BankT, int DT, int DS, bool TWO, bool SAME>
constexpr int auto_stages() {
    using A = AutoTile<BankT, DT, DS, TWO, SAME>;
    constexpr int kt = auto_kt<BankT, DT, DS, TWO, SAME>();
    return A::fits(kt, 4) ? 4 : (A::fits(kt, 3) ? 3 : 2);
}
template <typename BankT, int DT, int DS, bool TWO, bool SAME>
using AutoConfig = FusedConfig<BankT, DT, DS, TWO, SAME, auto_kt<BankT, DT, DS, TWO, SAME>(),
                               auto_stages<BankT, DT, DS, TWO, SAME>()>;
template <typename BankT, int DT, int DS, bool TWO, bool SAME>
constexpr bool kAutoFitsA100 = AutoConfig<BankT, DT, DS, TWO, SAME>::SMEM <= kSmemA100;

// ---- split kernel -------------------------------------------------------------------------------------
struct FusedArgs {
    const float* tq;          // teacher queries, B x Dt (CompRess only)
    const float* sq;          // student queries (InfoNCE: q), B x Ds
    const void* tbank;        // K x Dt (CompRess, two banks)
    const void* sbank;        // K x Ds (1q: also the teacher bank)
    int b, k, dt, ds;
    float scale2;             // inv_tau * log2(e)
    int64_t per_split;        // anchors per split, a multiple of kSplitUnit
    bool vec_tq, vec_sq;      // query rows are float4-aligned
    bool vec_tb, vec_sb;      // bank rows are 16-byte aligned: cp.async, else element copies
    float* stats;             // [S][NSTAT][B]: ms, ls (, mt, lt, A)
    float* gs;                // [S][B][Ds]
    float* gt;                // [S][B][Ds] (CompRess)
    unsigned* counter;        // merge's "last block" ticket; zeroed here, before the merge runs
};

// Column of bank element (r, c) in its smem tile: swizzled for F32 (see tf32_swizzle), plain for BF16.
template <typename T>
__device__ __forceinline__ int bank_col(int r, int c) { return std::is_same<T, float>::value ? tf32_swizzle(r, c) : c; }

// Anchors [a0, a0 + nvalid) of a K x d bank into a [KT][LD] tile; rows >= nvalid become zeros (so masked
// anchors add 0 * 0, never garbage), columns >= d keep the zeros written at kernel start.
template <class C, int LD>
__device__ __forceinline__ void load_bank_tile(typename C::Bank* dst, const typename C::Bank* bank, int d,
                                               int64_t a0, int nvalid, bool vec) {
    using T = typename C::Bank;
    if (vec) {
        constexpr int kPerChunk = 16 / C::E;
        const int chunks_per_row = d / kPerChunk;
        const int total = C::KT * chunks_per_row;
        for (int c = threadIdx.x; c < total; c += kThreads) {
            const int r = c / chunks_per_row, q = c - r * chunks_per_row;
            const bool ok = r < nvalid;
            cp_async16(dst + r * LD + bank_col<T>(r, q * kPerChunk), ok ? bank + (a0 + r) * d + q * kPerChunk : bank,
                       ok ? 16 : 0);
        }
    } else {   // rows only 2- or 4-byte aligned (odd D): plain loads, converted on the way
        const int total = C::KT * d;
        for (int e = threadIdx.x; e < total; e += kThreads) {
            const int r = e / d, c = e - r * d;
            const float v = r < nvalid ? to_float(bank[(a0 + r) * d + c]) : 0.f;
            dst[r * LD + bank_col<T>(r, c)] = to_operand<T>(v);
        }
    }
}

// F32 banks arrive by cp.async as raw F32; each thread rounds the chunks it copied (same index mapping as
// load_bank_tile) to TF32 in place, once per tile instead of once per warp that reads them.
template <class C, int LD>
__device__ __forceinline__ void round_tile_tf32(float* dst, int d) {
    const int chunks_per_row = d / 4;
    const int total = C::KT * chunks_per_row;
    for (int c = threadIdx.x; c < total; c += kThreads) {
        const int r = c / chunks_per_row, q = c - r * chunks_per_row;
        float4* p = reinterpret_cast<float4*>(dst + r * LD + tf32_swizzle(r, q * 4));
        float4 v = *p;
        v.x = tf32_round(v.x); v.y = tf32_round(v.y); v.z = tf32_round(v.z); v.w = tf32_round(v.w);
        *p = v;
    }
}

// Query rows [row0, row0 + ROWS) of a B x d F32 matrix into a [ROWS][LD] tile of MMA operands.
template <class C, int LD>
__device__ __forceinline__ void load_queries(typename C::Bank* dst, const float* src, int b, int d, int row0,
                                             bool vec) {
    using T = typename C::Bank;
    if (vec) {
        const int chunks_per_row = d / 4;
        const int total = C::ROWS * chunks_per_row;
        for (int c = threadIdx.x; c < total; c += kThreads) {
            const int r = c / chunks_per_row, q = c - r * chunks_per_row;
            if (row0 + r >= b) continue;
            const float4 v = __ldg(reinterpret_cast<const float4*>(src + (int64_t)(row0 + r) * d) + q);
            T* o = dst + r * LD + q * 4;
            o[0] = to_operand<T>(v.x); o[1] = to_operand<T>(v.y); o[2] = to_operand<T>(v.z); o[3] = to_operand<T>(v.w);
        }
    } else {
        const int total = C::ROWS * d;
        for (int e = threadIdx.x; e < total; e += kThreads) {
            const int r = e / d, c = e - r * d;
            if (row0 + r < b) dst[r * LD + c] = to_operand<T>(__ldg(src + (int64_t)(row0 + r) * d + c));
        }
    }
}

// z1 (+ z2 when DUAL) = this warp's 16 query rows a1 (a2) x the KT anchors of btile, over DPAD dims.
// BF16: ldmatrix fragments, m16n8k16. The B fragment is loaded once and used for both sides in 1q mode.
template <int NT, int DPAD, int LDA, int LDB, bool DUAL>
__device__ __forceinline__ void logits_bf16(float (&z1)[NT][4], float (&z2)[NT][4], const bf16* a1, const bf16* a2,
                                            const bf16* btile, int lane) {
    #pragma unroll
    for (int kk = 0; kk < DPAD / 16; ++kk) {
        uint32_t f1[4], f2[4];
        const int arow = ldsm_a_row(lane), acol = kk * 16 + ldsm_a_col(lane);
        ldsm_x4(f1, a1 + arow * LDA + acol);
        if (DUAL) ldsm_x4(f2, a2 + arow * LDA + acol);
        #pragma unroll
        for (int np = 0; np < NT / 2; ++np) {
            uint32_t b[4];
            const int brow = np * 16 + ldsm_b_row(lane), bcol = kk * 16 + ldsm_b_col(lane);
            ldsm_x4(b, btile + brow * LDB + bcol);
            mma_bf16(z1[2 * np], f1, b[0], b[1]);
            mma_bf16(z1[2 * np + 1], f1, b[2], b[3]);
            if (DUAL) {
                mma_bf16(z2[2 * np], f2, b[0], b[1]);
                mma_bf16(z2[2 * np + 1], f2, b[2], b[3]);
            }
        }
    }
}

// TF32: m16n8k8 with the k index permuted inside each 8-slice (logical k = t <-> dim 2t, k = t+4 <-> dim 2t+1)
// identically for A and B, so each fragment pair is one 64-bit shared load (the bank tile is swizzled).
template <int NT, int DPAD, int LDA, int LDB, bool DUAL>
__device__ __forceinline__ void logits_tf32(float (&z1)[NT][4], float (&z2)[NT][4], const float* a1, const float* a2,
                                            const float* btile, int lane) {
    const int g = frag_g(lane), t = frag_t(lane);
    #pragma unroll
    for (int kk = 0; kk < DPAD / 8; ++kk) {
        const int col = kk * 8 + 2 * t;
        const float2 x0 = *reinterpret_cast<const float2*>(a1 + g * LDA + col);
        const float2 x1 = *reinterpret_cast<const float2*>(a1 + (g + 8) * LDA + col);
        const uint32_t f1[4] = {fbits(x0.x), fbits(x1.x), fbits(x0.y), fbits(x1.y)};
        uint32_t f2[4] = {0, 0, 0, 0};
        if (DUAL) {
            const float2 y0 = *reinterpret_cast<const float2*>(a2 + g * LDA + col);
            const float2 y1 = *reinterpret_cast<const float2*>(a2 + (g + 8) * LDA + col);
            f2[0] = fbits(y0.x); f2[1] = fbits(y1.x); f2[2] = fbits(y0.y); f2[3] = fbits(y1.y);
        }
        #pragma unroll
        for (int n = 0; n < NT; ++n) {
            const int brow = n * 8 + g;
            const float2 bb = *reinterpret_cast<const float2*>(btile + brow * LDB + tf32_swizzle(brow, col));
            mma_tf32(z1[n], f1, fbits(bb.x), fbits(bb.y));
            if (DUAL) mma_tf32(z2[n], f2, fbits(bb.x), fbits(bb.y));
        }
    }
}

// G += P V for this warp's CW output columns: P (probabilities, still in the logits' accumulator layout) is
// re-packed in registers as the A operand; V = the student bank tile (vtile already offset to the columns).
template <int NT, int CW, int LD, bool TWO>
__device__ __forceinline__ void pv_bf16(float (&gt)[TWO ? CW / 8 : 1][4], float (&gs)[CW / 8][4],
                                        const float (&pt)[NT][4], const float (&ps)[NT][4], const bf16* vtile,
                                        int lane) {
    #pragma unroll
    for (int j = 0; j < NT / 2; ++j) {
        const uint32_t as[4] = {pack_bf16(ps[2 * j][0], ps[2 * j][1]), pack_bf16(ps[2 * j][2], ps[2 * j][3]),
                                pack_bf16(ps[2 * j + 1][0], ps[2 * j + 1][1]),
                                pack_bf16(ps[2 * j + 1][2], ps[2 * j + 1][3])};
        uint32_t at[4] = {0, 0, 0, 0};
        if (TWO) {
            at[0] = pack_bf16(pt[2 * j][0], pt[2 * j][1]);
            at[1] = pack_bf16(pt[2 * j][2], pt[2 * j][3]);
            at[2] = pack_bf16(pt[2 * j + 1][0], pt[2 * j + 1][1]);
            at[3] = pack_bf16(pt[2 * j + 1][2], pt[2 * j + 1][3]);
        }
        #pragma unroll
        for (int np = 0; np < CW / 16; ++np) {
            uint32_t b[4];
            const int vrow = j * 16 + ldsm_bt_row(lane), vcol = np * 16 + ldsm_bt_col(lane);
            ldsm_x4_trans(b, vtile + vrow * LD + vcol);
            mma_bf16(gs[2 * np], as, b[0], b[1]);
            mma_bf16(gs[2 * np + 1], as, b[2], b[3]);
            if (TWO) {
                mma_bf16(gt[2 * np], at, b[0], b[1]);
                mma_bf16(gt[2 * np + 1], at, b[2], b[3]);
            }
        }
    }
}

// TF32: the accumulator layout of an n8 logit tile is the A fragment of a k8 slice under the permutation
// logical k = t <-> anchor 2t, k = t+4 <-> anchor 2t+1 (a0 = c0, a1 = c2, a2 = c1, a3 = c3); B follows it.
// vtile: the bank tile (not column-offset: the swizzle depends on the absolute column); col0 = first column.
template <int NT, int CW, int LD, bool TWO>
__device__ __forceinline__ void pv_tf32(float (&gt)[TWO ? CW / 8 : 1][4], float (&gs)[CW / 8][4],
                                        const float (&pt)[NT][4], const float (&ps)[NT][4], const float* vtile,
                                        int col0, int lane) {
    const int g = frag_g(lane), t = frag_t(lane);
    #pragma unroll
    for (int j = 0; j < NT; ++j) {
        const uint32_t as[4] = {fbits(tf32_round(ps[j][0])), fbits(tf32_round(ps[j][2])),
                                fbits(tf32_round(ps[j][1])), fbits(tf32_round(ps[j][3]))};
        uint32_t at[4] = {0, 0, 0, 0};
        if (TWO) {
            at[0] = fbits(tf32_round(pt[j][0])); at[1] = fbits(tf32_round(pt[j][2]));
            at[2] = fbits(tf32_round(pt[j][1])); at[3] = fbits(tf32_round(pt[j][3]));
        }
        const int r0 = j * 8 + 2 * t;
        const float* v0 = vtile + r0 * LD;
        const float* v1 = v0 + LD;
        #pragma unroll
        for (int n = 0; n < CW / 8; ++n) {
            const int c = col0 + n * 8 + g;
            const uint32_t b0 = fbits(v0[tf32_swizzle(r0, c)]), b1 = fbits(v1[tf32_swizzle(r0 + 1, c)]);
            mma_tf32(gs[n], as, b0, b1);
            if (TWO) mma_tf32(gt[n], at, b0, b1);
        }
    }
}

// Online-softmax update for one tile: z (raw dot products) -> probabilities exp2(z*scale2 - m) in place, with
// running max m, row sums l (this thread's columns; the quad is summed at the end), A = sum pt (zt - zs), and
// the factors sc by which the accumulators must be rescaled. Thread rows: r = 0 -> g, r = 1 -> g + 8.
template <int NT, bool TWO, bool MASK>
__device__ __forceinline__ void softmax_tile(float (&zt)[NT][4], float (&zs)[NT][4], float (&mt)[2], float (&lt)[2],
                                             float (&ms)[2], float (&ls)[2], float (&acc)[2], float (&sct)[2],
                                             float (&scs)[2], float scale2, int nvalid, int lane) {
    #pragma unroll
    for (int n = 0; n < NT; ++n) {
        #pragma unroll
        for (int i = 0; i < 4; ++i) {
            const bool valid = !MASK || n * 8 + acc_col(lane, i) < nvalid;
            zs[n][i] = valid ? zs[n][i] * scale2 : -INFINITY;
            if (TWO) zt[n][i] = valid ? zt[n][i] * scale2 : -INFINITY;
        }
    }
    #pragma unroll
    for (int r = 0; r < 2; ++r) {
        float xs = -INFINITY, xt = -INFINITY;
        #pragma unroll
        for (int n = 0; n < NT; ++n) {
            xs = fmaxf(xs, fmaxf(zs[n][2 * r], zs[n][2 * r + 1]));
            if (TWO) xt = fmaxf(xt, fmaxf(zt[n][2 * r], zt[n][2 * r + 1]));
        }
        xs = fmaxf(xs, __shfl_xor_sync(kFullMask, xs, 1));
        xs = fmaxf(xs, __shfl_xor_sync(kFullMask, xs, 2));
        // Every tile holds >= 1 valid anchor, so the new max is finite; exp2(-inf - finite) = 0 on the first tile.
        const float ms_new = fmaxf(ms[r], xs);
        scs[r] = fast_exp2(ms[r] - ms_new);
        ms[r] = ms_new;
        ls[r] *= scs[r];
        float mt_new = 0.f;
        if (TWO) {
            xt = fmaxf(xt, __shfl_xor_sync(kFullMask, xt, 1));
            xt = fmaxf(xt, __shfl_xor_sync(kFullMask, xt, 2));
            mt_new = fmaxf(mt[r], xt);
            sct[r] = fast_exp2(mt[r] - mt_new);
            mt[r] = mt_new;
            lt[r] *= sct[r];
            acc[r] *= sct[r];
        }
        #pragma unroll
        for (int n = 0; n < NT; ++n) {
            #pragma unroll
            for (int c = 0; c < 2; ++c) {
                const int i = 2 * r + c;
                const float ps = fast_exp2(zs[n][i] - ms_new);
                if (TWO) {
                    const float pt = fast_exp2(zt[n][i] - mt_new);
                    float dz = zt[n][i] - zs[n][i];
                    if (MASK && !(n * 8 + acc_col(lane, i) < nvalid)) dz = 0.f;   // -inf - -inf
                    acc[r] = fmaf(pt, dz, acc[r]);
                    lt[r] += pt;
                    zt[n][i] = pt;
                }
                ls[r] += ps;
                zs[n][i] = ps;
            }
        }
    }
}

template <class C>
__global__ void __launch_bounds__(kThreads) fused_split_kernel(const FusedArgs a) {
    using T = typename C::Bank;
    constexpr int NT = C::NT, CW = C::CW, NG = CW / 8;
    COMPRESS_DYNAMIC_SHARED(__align__(16) unsigned char, smem_raw);
    T* s_tq = reinterpret_cast<T*>(smem_raw);      // [ROWS][LDT] teacher queries (CompRess)
    T* s_sq = s_tq + C::ROWS * C::LDT;              // [ROWS][LDQS] student queries
    T* s_stages = s_sq + C::ROWS * C::LDQS;         // STAGES x ([KT][LDBT] teacher bank if LOAD_T, [KT][LDBS] bank)

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int g = frag_g(lane), t4 = frag_t(lane);
    const int rg = warp / C::CS, cs = warp % C::CS;
    const int row0 = blockIdx.x * C::ROWS;
    const int split = blockIdx.y;
    const int64_t kb = (int64_t)split * a.per_split;
    const int64_t ke = kb + a.per_split < (int64_t)a.k ? kb + a.per_split : (int64_t)a.k;
    const int ntiles = (int)((ke - kb + C::KT - 1) / C::KT);   // >= 1: the host never makes an empty split
    const T* tbank = static_cast<const T*>(a.tbank);
    const T* sbank = static_cast<const T*>(a.sbank);

    if (blockIdx.x == 0 && blockIdx.y == 0 && threadIdx.x == 0) *a.counter = 0u;

    // Zero all shared memory once: pad columns (d >= D) then stay zero for every tile.
    for (int i = threadIdx.x; i < (int)(C::SMEM / 16); i += kThreads)
        reinterpret_cast<uint4*>(smem_raw)[i] = make_uint4(0u, 0u, 0u, 0u);
    __syncthreads();

    auto issue = [&](int tile) {   // always commits a group, possibly empty, to keep the wait counts uniform
        if (tile < ntiles) {
            const int64_t a0 = kb + (int64_t)tile * C::KT;
            const int nvalid = (int)(ke - a0 < C::KT ? ke - a0 : C::KT);
            T* st = s_stages + (tile % C::STAGES) * C::STAGE_ELEMS;
            if constexpr (C::LOAD_T) load_bank_tile<C, C::LDBT>(st, tbank, a.dt, a0, nvalid, a.vec_tb);
            load_bank_tile<C, C::LDBS>(st + C::STAGE_T, sbank, a.ds, a0, nvalid, a.vec_sb);
        }
        cp_async_commit();
    };
    #pragma unroll
    for (int s = 0; s < C::STAGES - 1; ++s) issue(s);
    if constexpr (C::TWO) load_queries<C, C::LDT>(s_tq, a.tq, a.b, a.dt, row0, a.vec_tq);
    load_queries<C, C::LDQS>(s_sq, a.sq, a.b, a.ds, row0, a.vec_sq);

    float ms[2] = {-INFINITY, -INFINITY}, ls[2] = {0.f, 0.f};
    float mt[2] = {-INFINITY, -INFINITY}, lt[2] = {0.f, 0.f}, acc[2] = {0.f, 0.f};
    float sct[2] = {1.f, 1.f}, scs[2] = {1.f, 1.f};
    float gs[NG][4], gt[C::TWO ? NG : 1][4];
    #pragma unroll
    for (int n = 0; n < NG; ++n) {
        #pragma unroll
        for (int i = 0; i < 4; ++i) gs[n][i] = 0.f;
    }
    #pragma unroll
    for (int n = 0; n < (C::TWO ? NG : 1); ++n) {
        #pragma unroll
        for (int i = 0; i < 4; ++i) gt[n][i] = 0.f;
    }
    const T* a_t = s_tq + rg * 16 * C::LDT;    // this warp's 16 query rows
    const T* a_s = s_sq + rg * 16 * C::LDQS;

    for (int tile = 0; tile < ntiles; ++tile) {
        cp_async_wait<C::STAGES - 2>();             // this thread's copies of `tile` have landed
        T* st = s_stages + (tile % C::STAGES) * C::STAGE_ELEMS;
        if constexpr (!C::kBf16) {
            if constexpr (C::LOAD_T) { if (a.vec_tb) round_tile_tf32<C, C::LDBT>(st, a.dt); }
            if (a.vec_sb) round_tile_tf32<C, C::LDBS>(st + C::STAGE_T, a.ds);
        }
        __syncthreads();   // tile visible to all warps; everyone is done with the stage refilled next
        issue(tile + C::STAGES - 1);

        const T* b_s = st + C::STAGE_T;
        const T* b_t = C::LOAD_T ? st : b_s;
        float zt[NT][4], zs[NT][4];
        #pragma unroll
        for (int n = 0; n < NT; ++n) {
            #pragma unroll
            for (int i = 0; i < 4; ++i) { zt[n][i] = 0.f; zs[n][i] = 0.f; }
        }
        if constexpr (C::kBf16) {
            if constexpr (C::SAME) {
                logits_bf16<NT, C::DS, C::LDQS, C::LDBS, true>(zt, zs, a_t, a_s, b_s, lane);
            } else {
                if constexpr (C::TWO) logits_bf16<NT, C::DT, C::LDT, C::LDBT, false>(zt, zt, a_t, a_t, b_t, lane);
                logits_bf16<NT, C::DS, C::LDQS, C::LDBS, false>(zs, zs, a_s, a_s, b_s, lane);
            }
        } else {
            if constexpr (C::SAME) {
                logits_tf32<NT, C::DS, C::LDQS, C::LDBS, true>(zt, zs, a_t, a_s, b_s, lane);
            } else {
                if constexpr (C::TWO) logits_tf32<NT, C::DT, C::LDT, C::LDBT, false>(zt, zt, a_t, a_t, b_t, lane);
                logits_tf32<NT, C::DS, C::LDQS, C::LDBS, false>(zs, zs, a_s, a_s, b_s, lane);
            }
        }

        const int64_t left = ke - (kb + (int64_t)tile * C::KT);
        if (left < C::KT)
            softmax_tile<NT, C::TWO, true>(zt, zs, mt, lt, ms, ls, acc, sct, scs, a.scale2, (int)left, lane);
        else
            softmax_tile<NT, C::TWO, false>(zt, zs, mt, lt, ms, ls, acc, sct, scs, a.scale2, C::KT, lane);

        // Rescale the accumulators only when some row's max moved (after the first tiles it rarely does):
        // multiplying by exactly 1 changes no bit, so skipping is exact and saves ~128 FMULs per tile.
        if (__any_sync(kFullMask, scs[0] != 1.f || scs[1] != 1.f)) {
            #pragma unroll
            for (int n = 0; n < NG; ++n) {
                gs[n][0] *= scs[0]; gs[n][1] *= scs[0]; gs[n][2] *= scs[1]; gs[n][3] *= scs[1];
            }
        }
        if constexpr (C::TWO) {
            if (__any_sync(kFullMask, sct[0] != 1.f || sct[1] != 1.f)) {
                #pragma unroll
                for (int n = 0; n < NG; ++n) {
                    gt[n][0] *= sct[0]; gt[n][1] *= sct[0]; gt[n][2] *= sct[1]; gt[n][3] *= sct[1];
                }
            }
        }
        if constexpr (C::kBf16)
            pv_bf16<NT, CW, C::LDBS, C::TWO>(gt, gs, zt, zs, b_s + cs * CW, lane);
        else
            pv_tf32<NT, CW, C::LDBS, C::TWO>(gt, gs, zt, zs, b_s, cs * CW, lane);
    }
    cp_async_wait<0>();

    // Row sums over the quad (the max is already quad-uniform), then write this split's partials.
    #pragma unroll
    for (int r = 0; r < 2; ++r) {
        ls[r] += __shfl_xor_sync(kFullMask, ls[r], 1);
        ls[r] += __shfl_xor_sync(kFullMask, ls[r], 2);
        if constexpr (C::TWO) {
            lt[r] += __shfl_xor_sync(kFullMask, lt[r], 1);
            lt[r] += __shfl_xor_sync(kFullMask, lt[r], 2);
            acc[r] += __shfl_xor_sync(kFullMask, acc[r], 1);
            acc[r] += __shfl_xor_sync(kFullMask, acc[r], 2);
        }
    }
    constexpr int kStats = C::TWO ? 5 : 2;
    #pragma unroll
    for (int r = 0; r < 2; ++r) {
        const int row = row0 + rg * 16 + acc_row(lane, 2 * r);
        if (row >= a.b) continue;
        if (cs == 0 && t4 == 0) {   // warps of one row group computed identical stats
            float* s = a.stats + (int64_t)split * kStats * a.b + row;
            s[0] = ms[r];
            s[a.b] = ls[r];
            if constexpr (C::TWO) {
                s[2 * (int64_t)a.b] = mt[r];
                s[3 * (int64_t)a.b] = lt[r];
                s[4 * (int64_t)a.b] = acc[r];
            }
        }
        const int64_t off = ((int64_t)split * a.b + row) * a.ds;
        #pragma unroll
        for (int n = 0; n < NG; ++n) {
            #pragma unroll
            for (int c = 0; c < 2; ++c) {
                const int col = cs * CW + n * 8 + acc_col(lane, c);
                if (col < a.ds) {
                    a.gs[off + col] = gs[n][2 * r + c];
                    if constexpr (C::TWO) a.gt[off + col] = gt[n][2 * r + c];
                }
            }
        }
    }
}

// ---- merge kernels ------------------------------------------------------------------------------------
struct MergeArgs {
    const float* stats;   // [S][NSTAT][B]
    const float* gs;      // [S][B][Ds]
    const float* gt;      // [S][B][Ds] (CompRess)
    const float* q;       // InfoNCE: queries and positive keys, B x D
    const float* kpos;
    int b, ds, splits;
    float scale2;         // inv_tau * log2(e)
    float grad_scale;     // inv_tau / B
    float* loss;
    float* loss_mean;
    float* grad;
    unsigned* counter;
};

// The block that finishes last (ticket on an integer counter) writes the mean of loss[0..n) in a fixed order,
// so the value does not depend on which block that is.
__device__ void finish_mean(const float* loss, int n, float* mean, unsigned* counter) {
    __shared__ bool is_last;
    __threadfence();   // this block's loss[] write is visible before its ticket
    __syncthreads();
    if (threadIdx.x == 0) is_last = atomicAdd(counter, 1u) == gridDim.x - 1;
    __syncthreads();
    if (!is_last) return;
    __threadfence();
    double s = 0.0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += (double)__ldcg(loss + i);
    s = block_sum(s);
    if (threadIdx.x == 0) {
        *mean = (float)(s / n);
        *counter = 0u;
    }
}

__global__ void __launch_bounds__(kMergeThreads) compress_merge_kernel(const MergeArgs m) {
    COMPRESS_DYNAMIC_SHARED(float, w);   // [S] teacher weights 2^(mt_s - Mt), then [S] student weights
    __shared__ float inv_l[2];
    const int i = blockIdx.x, S = m.splits, B = m.b;
    if (threadIdx.x < 32) {
        const int lane = threadIdx.x;
        float Mt = -INFINITY, Ms = -INFINITY;
        for (int s = lane; s < S; s += 32) {
            const float* st = m.stats + (int64_t)s * 5 * B + i;
            Ms = fmaxf(Ms, st[0]);
            Mt = fmaxf(Mt, st[2 * (int64_t)B]);
        }
        Ms = warp_max(Ms);
        Mt = warp_max(Mt);
        float Ls = 0.f, Lt = 0.f, A = 0.f;
        for (int s = lane; s < S; s += 32) {
            const float* st = m.stats + (int64_t)s * 5 * B + i;
            const float ws = exp2f(st[0] - Ms), wt = exp2f(st[2 * (int64_t)B] - Mt);
            w[s] = wt;
            w[S + s] = ws;
            Ls = fmaf(st[B], ws, Ls);
            Lt = fmaf(st[3 * (int64_t)B], wt, Lt);
            A = fmaf(st[4 * (int64_t)B], wt, A);
        }
        Ls = warp_sum(Ls);
        Lt = warp_sum(Lt);
        A = warp_sum(A);
        if (lane == 0) {
            // KL = sum_j pt_j (zt_j - zs_j) - lse(zt) + lse(zs), all in base 2 here, hence the ln 2.
            m.loss[i] = kLn2 * (A / Lt + (Ms - Mt) + (log2f(Ls) - log2f(Lt)));
            inv_l[0] = 1.f / Lt;
            inv_l[1] = 1.f / Ls;
        }
    }
    __syncthreads();
    for (int c = threadIdx.x; c < m.ds; c += kMergeThreads) {
        float at = 0.f, as = 0.f;
        for (int s = 0; s < S; ++s) {
            const int64_t off = ((int64_t)s * B + i) * m.ds + c;
            at = fmaf(w[s], __ldcg(m.gt + off), at);
            as = fmaf(w[S + s], __ldcg(m.gs + off), as);
        }
        m.grad[(int64_t)i * m.ds + c] = (as * inv_l[1] - at * inv_l[0]) * m.grad_scale;
    }
    finish_mean(m.loss, B, m.loss_mean, m.counter);
}

__global__ void __launch_bounds__(kMergeThreads) infonce_merge_kernel(const MergeArgs m) {
    COMPRESS_DYNAMIC_SHARED(float, w);   // [S] weights 2^(m_s - M)
    __shared__ float sh[2];        // weight of the positive, 1 / L
    const int i = blockIdx.x, S = m.splits, B = m.b, D = m.ds;
    const float* qi = m.q + (int64_t)i * D;
    const float* ki = m.kpos + (int64_t)i * D;
    float dot = 0.f;
    for (int c = threadIdx.x; c < D; c += kMergeThreads) dot = fmaf(qi[c], ki[c], dot);
    const float zp = block_sum(dot) * m.scale2;   // positive logit, base 2
    if (threadIdx.x < 32) {
        const int lane = threadIdx.x;
        float M = zp;
        for (int s = lane; s < S; s += 32) M = fmaxf(M, m.stats[(int64_t)s * 2 * B + i]);
        M = warp_max(M);
        float L = 0.f;
        for (int s = lane; s < S; s += 32) {
            const float* st = m.stats + (int64_t)s * 2 * B + i;
            const float ws = exp2f(st[0] - M);
            w[s] = ws;
            L = fmaf(st[B], ws, L);
        }
        L = warp_sum(L);
        if (lane == 0) {
            const float wp = exp2f(zp - M);
            L += wp;
            m.loss[i] = kLn2 * (M + log2f(L) - zp);
            sh[0] = wp;
            sh[1] = 1.f / L;
        }
    }
    __syncthreads();
    for (int c = threadIdx.x; c < D; c += kMergeThreads) {
        float g = 0.f;
        for (int s = 0; s < S; ++s) g = fmaf(w[s], __ldcg(m.gs + ((int64_t)s * B + i) * D + c), g);
        const float k = ki[c];
        m.grad[(int64_t)i * D + c] = (fmaf(sh[0], k, g) * sh[1] - k) * m.grad_scale;
    }
    finish_mean(m.loss, B, m.loss_mean, m.counter);
}

// ---- host side ----------------------------------------------------------------------------------------
inline int64_t align256(int64_t x) { return (x + 255) & ~int64_t(255); }

// How K is split across CTAs and where the partials live in the workspace. Depends only on the sizes and
// the SM count (not on the tile config), so the workspace size is known before choosing a kernel.
struct Plan {
    int rows, row_tiles, splits;
    int64_t per_split;
    int64_t stats_off, gs_off, gt_off, bytes;
};

inline Plan plan_layout(int b, int ds, bool two, int splits) {
    Plan p{};
    p.splits = splits;
    const int64_t rows_x_splits = (int64_t)splits * b;
    int64_t off = 256;   // [0, 256): the merge's ticket counter
    p.stats_off = off;
    off += align256(rows_x_splits * (two ? 5 : 2) * 4);
    p.gs_off = off;
    off += align256(rows_x_splits * ds * 4);
    p.gt_off = off;
    if (two) off += align256(rows_x_splits * ds * 4);
    p.bytes = off;
    return p;
}

inline Plan make_plan(int b, int k, int ds, bool two, int num_sms) {
    const int rows = rows_per_cta(pad_dim(ds), two);
    const int row_tiles = (int)(((int64_t)b + rows - 1) / rows);
    const int64_t units = ((int64_t)k + kSplitUnit - 1) / kSplitUnit;
    int64_t s = std::max<int64_t>(1, (int64_t)kCtasPerSm * num_sms / row_tiles);
    s = std::min(s, units);
    while (s > 1 && plan_layout(b, ds, two, (int)s).bytes > kWorkspaceCap) --s;
    const int64_t per_split = ((units + s - 1) / s) * kSplitUnit;
    const int splits = (int)(((int64_t)k + per_split - 1) / per_split);   // no empty split
    Plan p = plan_layout(b, ds, two, splits);
    p.rows = rows;
    p.row_tiles = row_tiles;
    p.per_split = per_split;
    return p;
}

inline cudaError_t device_sm_count(int* out) {
    static std::atomic<int> cache[64];
    int dev = 0;
    cudaError_t e = cudaGetDevice(&dev);
    if (e != cudaSuccess) return e;
    if (dev >= 0 && dev < 64) {
        const int v = cache[dev].load(std::memory_order_relaxed);
        if (v > 0) { *out = v; return cudaSuccess; }
    }
    int n = 0;
    e = cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev);
    if (e != cudaSuccess) return e;
    if (dev >= 0 && dev < 64) cache[dev].store(n, std::memory_order_relaxed);
    *out = n;
    return cudaSuccess;
}

// Opt in to > 48 KB dynamic shared memory and prefer shared memory over L1, once per kernel and device.
template <class C>
cudaError_t prepare_split_kernel() {
    static std::atomic<uint64_t> done{0};
    int dev = 0;
    cudaError_t e = cudaGetDevice(&dev);
    if (e != cudaSuccess) return e;
    const uint64_t bit = dev >= 0 && dev < 64 ? (1ull << dev) : 0;
    if (bit && (done.load(std::memory_order_acquire) & bit)) return cudaSuccess;
    int smem_optin = 0;
    e = cudaDeviceGetAttribute(&smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev);
    if (e != cudaSuccess) return e;
    if ((size_t)smem_optin < C::SMEM) return cudaErrorNotSupported;   // lab configs beyond this GPU
    e = cudaFuncSetAttribute(fused_split_kernel<C>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)C::SMEM);
    if (e != cudaSuccess) return e;
    e = cudaFuncSetAttribute(fused_split_kernel<C>, cudaFuncAttributePreferredSharedMemoryCarveout,
                             (int)cudaSharedmemCarveoutMaxShared);
    if (e != cudaSuccess) return e;
    if (bit) done.fetch_or(bit, std::memory_order_release);
    return cudaSuccess;
}

inline cudaError_t launch_merge(const MergeArgs& m, bool two, cudaStream_t stream) {
    const size_t smem = (size_t)(two ? 2 : 1) * m.splits * sizeof(float);
    if (two)
        COMPRESS_LAUNCH(compress_merge_kernel, m.b, kMergeThreads, smem, stream)(m);
    else
        COMPRESS_LAUNCH(infonce_merge_kernel, m.b, kMergeThreads, smem, stream)(m);
    return cudaGetLastError();
}

// One fused call, after argument checks: pointers, sizes and the plan.
struct FusedCall {
    const float* tq; const float* sq; const void* tbank; const void* sbank;
    const float* kpos;   // InfoNCE
    int b, k, dt, ds;
    float inv_tau;
    float* loss; float* loss_mean; float* grad;
    void* workspace;
};

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

// Split kernel with config C, then the merge. The lab (kernels/dev) calls this with other configs too.
template <class C>
cudaError_t run_fused(const FusedCall& f, const Plan& p, cudaStream_t stream) {
    cudaError_t e = prepare_split_kernel<C>();
    if (e != cudaSuccess) return e;
    char* ws = static_cast<char*>(f.workspace);
    FusedArgs a{};
    a.tq = f.tq; a.sq = f.sq; a.tbank = f.tbank; a.sbank = f.sbank;
    a.b = f.b; a.k = f.k; a.dt = C::TWO ? f.dt : 0; a.ds = f.ds;
    a.scale2 = f.inv_tau * kLog2e;
    a.per_split = p.per_split;
    a.vec_tq = C::TWO && f.dt % 4 == 0 && aligned16(f.tq);
    a.vec_sq = f.ds % 4 == 0 && aligned16(f.sq);
    a.vec_tb = C::TWO && ((int64_t)f.dt * C::E) % 16 == 0 && aligned16(f.tbank);
    a.vec_sb = ((int64_t)f.ds * C::E) % 16 == 0 && aligned16(f.sbank);
    a.stats = reinterpret_cast<float*>(ws + p.stats_off);
    a.gs = reinterpret_cast<float*>(ws + p.gs_off);
    a.gt = C::TWO ? reinterpret_cast<float*>(ws + p.gt_off) : nullptr;
    a.counter = reinterpret_cast<unsigned*>(ws);
    COMPRESS_LAUNCH(fused_split_kernel<C>, dim3(p.row_tiles, p.splits), kThreads, C::SMEM, stream)(a);
    e = cudaGetLastError();
    if (e != cudaSuccess) return e;

    MergeArgs m{};
    m.stats = a.stats; m.gs = a.gs; m.gt = a.gt;
    m.q = f.sq; m.kpos = f.kpos;
    m.b = f.b; m.ds = f.ds; m.splits = p.splits;
    m.scale2 = a.scale2;
    m.grad_scale = f.inv_tau / (float)f.b;
    m.loss = f.loss; m.loss_mean = f.loss_mean; m.grad = f.grad;
    m.counter = a.counter;
    return launch_merge(m, C::TWO, stream);
}

// Calls fn(Config{}) with the production config for these runtime sizes.
template <typename T, typename Fn>
cudaError_t dispatch_compress_typed(int dtp, int dsp, bool same, Fn&& fn) {
#define COMPRESS_FUSED_CASE(DTP, DSP)                                                       \
    if (dtp == DTP && dsp == DSP) {                                                         \
        static_assert(kAutoFitsA100<T, DTP, DSP, true, false>, "production config fits A100");  \
        if constexpr (DTP == DSP) {                                                         \
            if (same) return fn(AutoConfig<T, DTP, DSP, true, true>{});                     \
        }                                                                                   \
        return fn(AutoConfig<T, DTP, DSP, true, false>{});                                  \
    }
    COMPRESS_FUSED_CASE(64, 64) COMPRESS_FUSED_CASE(64, 128) COMPRESS_FUSED_CASE(64, 256)
    COMPRESS_FUSED_CASE(128, 64) COMPRESS_FUSED_CASE(128, 128) COMPRESS_FUSED_CASE(128, 256)
    COMPRESS_FUSED_CASE(256, 64) COMPRESS_FUSED_CASE(256, 128) COMPRESS_FUSED_CASE(256, 256)
#undef COMPRESS_FUSED_CASE
    return cudaErrorNotSupported;
}
template <typename Fn>
cudaError_t dispatch_compress(int bank_type, int dt, int ds, bool same, Fn&& fn) {
    if (bank_type == kBankF32) return dispatch_compress_typed<float>(pad_dim(dt), pad_dim(ds), same, fn);
    return dispatch_compress_typed<bf16>(pad_dim(dt), pad_dim(ds), same, fn);
}
template <typename T, typename Fn>
cudaError_t dispatch_infonce_typed(int dp, Fn&& fn) {
    if (dp == 64) return fn(AutoConfig<T, 0, 64, false, false>{});
    if (dp == 128) return fn(AutoConfig<T, 0, 128, false, false>{});
    if (dp == 256) return fn(AutoConfig<T, 0, 256, false, false>{});
    return cudaErrorNotSupported;
}
template <typename Fn>
cudaError_t dispatch_infonce(int bank_type, int d, Fn&& fn) {
    if (bank_type == kBankF32) return dispatch_infonce_typed<float>(pad_dim(d), fn);
    return dispatch_infonce_typed<bf16>(pad_dim(d), fn);
}

inline cudaError_t check_sizes(int b, int k, int dt, int ds, int bank_type) {
    if (b < 1 || k < 1 || dt < 1 || ds < 1 || (bank_type != kBankF32 && bank_type != kBankBF16))
        return cudaErrorInvalidValue;
    if (dt > kFusedMaxDim || ds > kFusedMaxDim) return cudaErrorNotSupported;
    return cudaSuccess;
}

inline int64_t workspace_bytes(int b, int k, int dt, int ds, int bank_type, bool two, cudaError_t* status) {
    cudaError_t e = check_sizes(b, k, dt, ds, bank_type);
    int sms = 0;
    if (e == cudaSuccess) e = device_sm_count(&sms);
    if (status) *status = e;
    if (e != cudaSuccess) return -1;
    return make_plan(b, k, ds, two, sms).bytes;
}

inline cudaError_t run_production(const FusedCall& f, int bank_type, bool two, size_t workspace_bytes,
                                  cudaStream_t stream) {
    cudaError_t e = check_sizes(f.b, f.k, two ? f.dt : f.ds, f.ds, bank_type);
    if (e != cudaSuccess) return e;
    if (!(f.inv_tau > 0.f) || !std::isfinite(f.inv_tau)) return cudaErrorInvalidValue;
    if (!f.sq || !f.sbank || !f.loss || !f.loss_mean || !f.grad || !f.workspace) return cudaErrorInvalidValue;
    if (two && (!f.tq || !f.tbank)) return cudaErrorInvalidValue;
    if (!two && !f.kpos) return cudaErrorInvalidValue;
    if (!aligned16(f.workspace)) return cudaErrorInvalidValue;
    const bool same = two && f.tbank == f.sbank;
    if (same && f.dt != f.ds) return cudaErrorInvalidValue;
    int sms = 0;
    e = device_sm_count(&sms);
    if (e != cudaSuccess) return e;
    const Plan p = make_plan(f.b, f.k, f.ds, two, sms);
    if ((int64_t)workspace_bytes < p.bytes) return cudaErrorInvalidValue;
    auto launch = [&](auto cfg) { return run_fused<decltype(cfg)>(f, p, stream); };
    return two ? dispatch_compress(bank_type, f.dt, f.ds, same, launch) : dispatch_infonce(bank_type, f.ds, launch);
}

}  // namespace loss_detail

int64_t compress_loss_workspace_bytes(int b, int k, int dt, int ds, int bank_type, cudaError_t* status) {
    return loss_detail::workspace_bytes(b, k, dt, ds, bank_type, true, status);
}

cudaError_t compress_loss_fused(const float* teacher, const float* student, const void* teacher_bank,
                                const void* student_bank, int bank_type, int b, int k, int dt, int ds,
                                float inv_tau, float* loss_per_query, float* loss_mean, float* grad_student,
                                void* workspace, size_t workspace_bytes, cudaStream_t stream) {
    loss_detail::FusedCall f{teacher, student, teacher_bank, student_bank, nullptr, b, k, dt, ds, inv_tau,
                             loss_per_query, loss_mean, grad_student, workspace};
    return loss_detail::run_production(f, bank_type, true, workspace_bytes, stream);
}

int64_t infonce_workspace_bytes(int b, int k, int d, int bank_type, cudaError_t* status) {
    return loss_detail::workspace_bytes(b, k, d, d, bank_type, false, status);
}

cudaError_t infonce_fused(const float* q, const float* kpos, const void* bank, int bank_type, int b, int k, int d,
                          float inv_tau, float* loss_per_query, float* loss_mean, float* grad_q, void* workspace,
                          size_t workspace_bytes, cudaStream_t stream) {
    loss_detail::FusedCall f{nullptr, q, nullptr, bank, kpos, b, k, 0, d, inv_tau,
                             loss_per_query, loss_mean, grad_q, workspace};
    return loss_detail::run_production(f, bank_type, false, workspace_bytes, stream);
}

}  // namespace compress
