// CPU-only checks of the fused loss kernels (runs without a GPU; built with the other labs):
// 1. Fragment layouts: an emulator of ldmatrix / mma.sync written from the PTX ISA fragment tables drives the
//    kernels' own lane -> address helpers (loss_device.cuh) through the same loop structure as logits_* / pv_*
//    in loss_fused.cu, and the result must equal the plain matrix products (small integers: exact).
// 2. Shared-memory bank conflicts of those access patterns with the production row strides.
// 3. The split-K online-softmax algorithm (tile rescaling, quad-partial sums, ragged masking, per-split
//    partials, merge formulas in base 2) emulated in FP32 against the double reference, tau down to 0.01.
// 4. The K-split plan: no empty split, full coverage, workspace within 16 MiB at the default shape.
// 5. Host rounding helpers used by the labs (BF16 RNE, TF32 RNA).
// This checks index math and formulas by re-typing the kernels' loops, not the kernels themselves: a copy of
// loss_fused.cu with five planted bugs (swapped mma operands, no accumulator rescale, a wrong cp.async wait count,
// no barrier in the tile loop, swapped merge normalisers) still passed it. The kernels' own code runs on the CPU in
// kernels/emu (loss_emu_test, mutation_check.sh) and on a GPU in compress_loss / run_all.sh.
#include "../loss_fused.cu"
#include "../loss_rows.cu"
#include "lab_common.cuh"
#include "compress_reference.h"

namespace L = compress::loss_detail;

static int g_failures = 0;
#define EXPECT(cond, ...)                                           \
    do {                                                            \
        if (!(cond)) {                                              \
            ++g_failures;                                           \
            std::printf("  FAIL %s:%d: ", __FILE__, __LINE__);      \
            std::printf(__VA_ARGS__);                               \
            std::printf("\n");                                      \
        }                                                           \
    } while (0)

// ---- 1. PTX fragment semantics --------------------------------------------------------------------------
struct Reg2 { float lo, hi; };   // a b16x2 register: lo = lower 16 bits = lower column / k

// ldmatrix.m8n8.x4.b16: lane l gives the address of row (l & 7) of matrix (l >> 3). Without .trans, lane l
// receives elements (row l/4, cols 2(l%4), 2(l%4)+1) of each matrix; with .trans, (rows 2(l%4), 2(l%4)+1, col l/4).
static void emu_ldsm_x4(const float* const addr[32], bool trans, Reg2 out[32][4]) {
    for (int m = 0; m < 4; ++m) {
        float M[8][8];
        for (int r = 0; r < 8; ++r)
            for (int c = 0; c < 8; ++c) M[r][c] = addr[m * 8 + r][c];
        for (int l = 0; l < 32; ++l) {
            const int a = l / 4, b = 2 * (l % 4);
            out[l][m] = trans ? Reg2{M[b][a], M[b + 1][a]} : Reg2{M[a][b], M[a][b + 1]};
        }
    }
}
// mma.m16n8k16 .bf16: A regs {(g, 2t..2t+1), (g+8, 2t..), (g, 2t+8..), (g+8, 2t+8..)}, B regs {(k 2t..2t+1, n g),
// (k 2t+8.., n g)}, C {(g, 2t), (g, 2t+1), (g+8, 2t), (g+8, 2t+1)}; g = lane/4, t = lane%4.
static void emu_mma_bf16(float C[32][4], const Reg2 A[32][4], const Reg2 B[32][2]) {
    double a[16][16], b[16][8];
    for (int l = 0; l < 32; ++l) {
        const int g = l / 4, t = l % 4;
        a[g][2 * t] = A[l][0].lo; a[g][2 * t + 1] = A[l][0].hi;
        a[g + 8][2 * t] = A[l][1].lo; a[g + 8][2 * t + 1] = A[l][1].hi;
        a[g][2 * t + 8] = A[l][2].lo; a[g][2 * t + 9] = A[l][2].hi;
        a[g + 8][2 * t + 8] = A[l][3].lo; a[g + 8][2 * t + 9] = A[l][3].hi;
        b[2 * t][g] = B[l][0].lo; b[2 * t + 1][g] = B[l][0].hi;
        b[2 * t + 8][g] = B[l][1].lo; b[2 * t + 9][g] = B[l][1].hi;
    }
    for (int l = 0; l < 32; ++l)
        for (int i = 0; i < 4; ++i) {
            const int row = l / 4 + 8 * (i / 2), col = 2 * (l % 4) + i % 2;
            double s = 0;
            for (int k = 0; k < 16; ++k) s += a[row][k] * b[k][col];
            C[l][i] += (float)s;
        }
}
// mma.m16n8k8 .tf32: A {(g, t), (g+8, t), (g, t+4), (g+8, t+4)}, B {(k t, n g), (k t+4, n g)}, C as above.
static void emu_mma_tf32(float C[32][4], const float A[32][4], const float B[32][2]) {
    double a[16][8], b[8][8];
    for (int l = 0; l < 32; ++l) {
        const int g = l / 4, t = l % 4;
        a[g][t] = A[l][0]; a[g + 8][t] = A[l][1]; a[g][t + 4] = A[l][2]; a[g + 8][t + 4] = A[l][3];
        b[t][g] = B[l][0]; b[t + 4][g] = B[l][1];
    }
    for (int l = 0; l < 32; ++l)
        for (int i = 0; i < 4; ++i) {
            const int row = l / 4 + 8 * (i / 2), col = 2 * (l % 4) + i % 2;
            double s = 0;
            for (int k = 0; k < 8; ++k) s += a[row][k] * b[k][col];
            C[l][i] += (float)s;
        }
}

// Same loops as logits_bf16 / logits_tf32 / pv_bf16 / pv_tf32 (one warp), with the emulated instructions.
template <int NT, int DPAD, int LDA, int LDB>
static void emu_logits_bf16(float z[32][NT][4], const float* a, const float* bt) {
    for (int kk = 0; kk < DPAD / 16; ++kk) {
        const float* aa[32];
        for (int l = 0; l < 32; ++l) aa[l] = a + L::ldsm_a_row(l) * LDA + kk * 16 + L::ldsm_a_col(l);
        Reg2 fa[32][4];
        emu_ldsm_x4(aa, false, fa);
        for (int np = 0; np < NT / 2; ++np) {
            const float* ba[32];
            for (int l = 0; l < 32; ++l) ba[l] = bt + (np * 16 + L::ldsm_b_row(l)) * LDB + kk * 16 + L::ldsm_b_col(l);
            Reg2 fb[32][4], b0[32][2], b1[32][2];
            emu_ldsm_x4(ba, false, fb);
            float c0[32][4], c1[32][4];
            for (int l = 0; l < 32; ++l) {
                b0[l][0] = fb[l][0]; b0[l][1] = fb[l][1]; b1[l][0] = fb[l][2]; b1[l][1] = fb[l][3];
                for (int i = 0; i < 4; ++i) { c0[l][i] = z[l][2 * np][i]; c1[l][i] = z[l][2 * np + 1][i]; }
            }
            emu_mma_bf16(c0, fa, b0);
            emu_mma_bf16(c1, fa, b1);
            for (int l = 0; l < 32; ++l)
                for (int i = 0; i < 4; ++i) { z[l][2 * np][i] = c0[l][i]; z[l][2 * np + 1][i] = c1[l][i]; }
        }
    }
}
template <int NT, int DPAD, int LDA, int LDB>
static void emu_logits_tf32(float z[32][NT][4], const float* a, const float* bt) {
    for (int kk = 0; kk < DPAD / 8; ++kk) {
        float fa[32][4];
        for (int l = 0; l < 32; ++l) {
            const int g = L::frag_g(l), col = kk * 8 + 2 * L::frag_t(l);
            const float* x0 = a + g * LDA + col;
            const float* x1 = a + (g + 8) * LDA + col;
            fa[l][0] = x0[0]; fa[l][1] = x1[0]; fa[l][2] = x0[1]; fa[l][3] = x1[1];
        }
        for (int n = 0; n < NT; ++n) {
            float fb[32][2], c[32][4];
            for (int l = 0; l < 32; ++l) {
                const int brow = n * 8 + L::frag_g(l), col = kk * 8 + 2 * L::frag_t(l);
                const float* bb = bt + brow * LDB + L::tf32_swizzle(brow, col);
                fb[l][0] = bb[0]; fb[l][1] = bb[1];
                for (int i = 0; i < 4; ++i) c[l][i] = z[l][n][i];
            }
            emu_mma_tf32(c, fa, fb);
            for (int l = 0; l < 32; ++l)
                for (int i = 0; i < 4; ++i) z[l][n][i] = c[l][i];
        }
    }
}
template <int NT, int CW, int LD>
static void emu_pv_bf16(float g[32][CW / 8][4], const float p[32][NT][4], const float* vt) {
    for (int j = 0; j < NT / 2; ++j) {
        Reg2 A[32][4];
        for (int l = 0; l < 32; ++l) {
            A[l][0] = {p[l][2 * j][0], p[l][2 * j][1]};
            A[l][1] = {p[l][2 * j][2], p[l][2 * j][3]};
            A[l][2] = {p[l][2 * j + 1][0], p[l][2 * j + 1][1]};
            A[l][3] = {p[l][2 * j + 1][2], p[l][2 * j + 1][3]};
        }
        for (int np = 0; np < CW / 16; ++np) {
            const float* va[32];
            for (int l = 0; l < 32; ++l) va[l] = vt + (j * 16 + L::ldsm_bt_row(l)) * LD + np * 16 + L::ldsm_bt_col(l);
            Reg2 fb[32][4], b0[32][2], b1[32][2];
            emu_ldsm_x4(va, true, fb);
            float c0[32][4], c1[32][4];
            for (int l = 0; l < 32; ++l) {
                b0[l][0] = fb[l][0]; b0[l][1] = fb[l][1]; b1[l][0] = fb[l][2]; b1[l][1] = fb[l][3];
                for (int i = 0; i < 4; ++i) { c0[l][i] = g[l][2 * np][i]; c1[l][i] = g[l][2 * np + 1][i]; }
            }
            emu_mma_bf16(c0, A, b0);
            emu_mma_bf16(c1, A, b1);
            for (int l = 0; l < 32; ++l)
                for (int i = 0; i < 4; ++i) { g[l][2 * np][i] = c0[l][i]; g[l][2 * np + 1][i] = c1[l][i]; }
        }
    }
}
template <int NT, int CW, int LD>
static void emu_pv_tf32(float g[32][CW / 8][4], const float p[32][NT][4], const float* vt, int col0) {
    for (int j = 0; j < NT; ++j) {
        float A[32][4];
        for (int l = 0; l < 32; ++l) {
            A[l][0] = p[l][j][0]; A[l][1] = p[l][j][2]; A[l][2] = p[l][j][1]; A[l][3] = p[l][j][3];
        }
        for (int n = 0; n < CW / 8; ++n) {
            float B[32][2], c[32][4];
            for (int l = 0; l < 32; ++l) {
                const int r0 = j * 8 + 2 * L::frag_t(l), col = col0 + n * 8 + L::frag_g(l);
                B[l][0] = vt[r0 * LD + L::tf32_swizzle(r0, col)];
                B[l][1] = vt[(r0 + 1) * LD + L::tf32_swizzle(r0 + 1, col)];
                for (int i = 0; i < 4; ++i) c[l][i] = g[l][n][i];
            }
            emu_mma_tf32(c, A, B);
            for (int l = 0; l < 32; ++l)
                for (int i = 0; i < 4; ++i) g[l][n][i] = c[l][i];
        }
    }
}

// COL0: first output column of the warp (col-split warps start at CW).
template <bool BF16, int KT, int DPAD, int CW, int COL0>
static void check_fragments(lab::Rng& rng) {
    constexpr int LDA = DPAD + L::kQuerySkew, LD = DPAD + L::bank_skew(BF16 ? 2 : 4), NT = KT / 8;
    std::vector<float> a(16 * LDA, 0.f), bt(KT * LD, 0.f), bl(KT * DPAD), p(16 * KT);   // bl: logical bank tile
    for (int r = 0; r < 16; ++r)
        for (int c = 0; c < DPAD; ++c) a[r * LDA + c] = (float)((int)(rng.uniform() * 7) - 3);
    for (int r = 0; r < KT; ++r)
        for (int c = 0; c < DPAD; ++c) {
            bl[r * DPAD + c] = (float)((int)(rng.uniform() * 7) - 3);
            bt[r * LD + (BF16 ? c : L::tf32_swizzle(r, c))] = bl[r * DPAD + c];
        }
    for (auto& x : p) x = (float)((int)(rng.uniform() * 5) - 2);
    static float z[32][NT][4];
    std::memset(z, 0, sizeof z);
    if (BF16) emu_logits_bf16<NT, DPAD, LDA, LD>(z, a.data(), bt.data());
    else emu_logits_tf32<NT, DPAD, LDA, LD>(z, a.data(), bt.data());
    int bad = 0;
    for (int l = 0; l < 32; ++l)
        for (int n = 0; n < NT; ++n)
            for (int i = 0; i < 4; ++i) {
                const int row = L::acc_row(l, i), col = n * 8 + L::acc_col(l, i);
                double s = 0;
                for (int d = 0; d < DPAD; ++d) s += (double)a[row * LDA + d] * bl[col * DPAD + d];
                bad += z[l][n][i] != (float)s;
            }
    EXPECT(bad == 0, "logits %s KT=%d D=%d: %d fragment elements differ from T Q^T", BF16 ? "bf16" : "tf32", KT, DPAD,
           bad);
    // P in the accumulator layout, then P V with V = bt (its first CW columns).
    static float pf[32][NT][4];
    for (int l = 0; l < 32; ++l)
        for (int n = 0; n < NT; ++n)
            for (int i = 0; i < 4; ++i) pf[l][n][i] = p[L::acc_row(l, i) * KT + n * 8 + L::acc_col(l, i)];
    static float g[32][CW / 8][4];
    std::memset(g, 0, sizeof g);
    if (BF16) emu_pv_bf16<NT, CW, LD>(g, pf, bt.data() + COL0);
    else emu_pv_tf32<NT, CW, LD>(g, pf, bt.data(), COL0);
    bad = 0;
    for (int l = 0; l < 32; ++l)
        for (int n = 0; n < CW / 8; ++n)
            for (int i = 0; i < 4; ++i) {
                const int row = L::acc_row(l, i), col = n * 8 + L::acc_col(l, i);
                double s = 0;
                for (int j = 0; j < KT; ++j) s += (double)p[row * KT + j] * bl[j * DPAD + COL0 + col];
                bad += g[l][n][i] != (float)s;
            }
    EXPECT(bad == 0, "P V %s KT=%d CW=%d: %d fragment elements differ", BF16 ? "bf16" : "tf32", KT, CW, bad);
}

// ---- 2. bank conflicts ------------------------------------------------------------------------------------
// ldmatrix: each 8x8 matrix (8 row addresses of 16 B) is one phase; conflict-free iff the rows hit distinct
// 16-byte bank groups. Scalar/64-bit loads: per phase (32 lanes for 4 B, 16 lanes for 8 B) all words on distinct
// banks unless the same word.
static int ldsm_conflicts(const int byte_addr[32]) {
    int worst = 1;
    for (int m = 0; m < 4; ++m) {
        int count[8] = {0};
        for (int r = 0; r < 8; ++r) ++count[(byte_addr[m * 8 + r] / 16) % 8];
        for (int c : count) worst = std::max(worst, c);
    }
    return worst;
}
static int lds_conflicts(const int word_addr[32], int words_per_lane) {
    const int lanes_per_phase = 32 / words_per_lane;
    int worst = 1;
    for (int ph = 0; ph < words_per_lane; ++ph) {
        std::vector<std::vector<int>> bank(32);
        for (int l = ph * lanes_per_phase; l < (ph + 1) * lanes_per_phase; ++l)
            for (int w = 0; w < words_per_lane; ++w) {
                const int a = word_addr[l] + w;
                auto& v = bank[a % 32];
                if (std::find(v.begin(), v.end(), a) == v.end()) v.push_back(a);
            }
        for (auto& v : bank) worst = std::max(worst, (int)v.size());
    }
    return worst;
}
static void check_bank_conflicts() {
    for (int dpad : {64, 128, 256}) {
        const int lqb = dpad + L::kQuerySkew, lbb = dpad + L::bank_skew(2);   // BF16 query / bank strides
        const int lqf = dpad + L::kQuerySkew, lbf = dpad + L::bank_skew(4);   // F32
        for (int kk = 0; kk < 4; ++kk) {   // kk: a k-slice for the logits, an n8 tile / k-slice for P V
            int a[32], b[32], v[32], ta[32], tb[32], tv0[32], tv1[32];
            for (int l = 0; l < 32; ++l) {
                const int g = L::frag_g(l), t = L::frag_t(l);
                a[l] = 2 * (L::ldsm_a_row(l) * lqb + kk * 16 + L::ldsm_a_col(l));
                b[l] = 2 * ((kk % 2 * 16 + L::ldsm_b_row(l)) * lbb + kk * 16 + L::ldsm_b_col(l));
                v[l] = 2 * ((kk % 2 * 16 + L::ldsm_bt_row(l)) * lbb + kk * 16 + L::ldsm_bt_col(l));
                ta[l] = g * lqf + kk * 8 + 2 * t;
                const int brow = kk % 4 * 8 + g;
                tb[l] = brow * lbf + L::tf32_swizzle(brow, kk * 8 + 2 * t);
                const int r0 = kk % 4 * 8 + 2 * t;
                tv0[l] = r0 * lbf + L::tf32_swizzle(r0, kk * 8 + g);
                tv1[l] = (r0 + 1) * lbf + L::tf32_swizzle(r0 + 1, kk * 8 + g);
            }
            EXPECT(ldsm_conflicts(a) == 1 && ldsm_conflicts(b) == 1 && ldsm_conflicts(v) == 1,
                   "bf16 ldmatrix bank conflicts at D=%d: A %d-way, B %d-way, V %d-way", dpad, ldsm_conflicts(a),
                   ldsm_conflicts(b), ldsm_conflicts(v));
            EXPECT(lds_conflicts(ta, 2) == 1 && lds_conflicts(tb, 2) == 1 && lds_conflicts(tv0, 1) == 1 &&
                       lds_conflicts(tv1, 1) == 1,
                   "tf32 shared loads bank conflicts at D=%d: A %d-way, B %d-way, V %d/%d-way", dpad,
                   lds_conflicts(ta, 2), lds_conflicts(tb, 2), lds_conflicts(tv0, 1), lds_conflicts(tv1, 1));
        }
    }
}

// ---- 3. algorithm emulation -------------------------------------------------------------------------------
// One CTA row's work as the split kernel does it, per split: tiles of KT anchors, column c of a tile owned by
// quad lane (c % 8) / 2, running max per row shared by the quad, sums per lane, rescaling when the max moves,
// masked (-inf) anchors past the split end; then the merge kernel's formulas.
struct Emulated { std::vector<float> loss, grad; float mean; };
static Emulated emulate(const Problem& p, int kt, int sms, bool round_p) {
    const L::Plan plan = L::make_plan(p.b, p.k, p.ds, true, sms);
    const float scale2 = L::kLog2e / p.tau;
    const int S = plan.splits;
    std::vector<float> stats((size_t)S * 5 * p.b), gs((size_t)S * p.b * p.ds), gt((size_t)S * p.b * p.ds);
    auto rp = [&](float x) { return !round_p ? x : (p.bank_type == compress::kBankBF16 ? lab::round_bf16(x) : lab::round_tf32(x)); };
    for (int s = 0; s < S; ++s) {
        const int64_t kb = s * plan.per_split, ke = std::min<int64_t>(p.k, kb + plan.per_split);
        EXPECT(ke > kb, "empty split %d", s);
        for (int i = 0; i < p.b; ++i) {
            float mt = -INFINITY, ms = -INFINITY, lt[4] = {0, 0, 0, 0}, ls[4] = {0, 0, 0, 0}, acc[4] = {0, 0, 0, 0};
            std::vector<float> Gt(p.ds, 0.f), Gs(p.ds, 0.f), zt(kt), zs(kt);
            for (int64_t a0 = kb; a0 < ke; a0 += kt) {
                const int nvalid = (int)std::min<int64_t>(kt, ke - a0);
                for (int c = 0; c < kt; ++c) {
                    if (c >= nvalid) { zt[c] = zs[c] = -INFINITY; continue; }
                    float x = 0, y = 0;
                    for (int d = 0; d < p.dt; ++d) x = std::fma(p.tq[(size_t)i * p.dt + d], p.qt[(size_t)(a0 + c) * p.dt + d], x);
                    for (int d = 0; d < p.ds; ++d) y = std::fma(p.sq[(size_t)i * p.ds + d], p.qs[(size_t)(a0 + c) * p.ds + d], y);
                    zt[c] = x * scale2;
                    zs[c] = y * scale2;
                }
                float xt = -INFINITY, xs = -INFINITY;
                for (int c = 0; c < kt; ++c) { xt = std::max(xt, zt[c]); xs = std::max(xs, zs[c]); }
                const float mt_new = std::max(mt, xt), ms_new = std::max(ms, xs);
                const float sct = std::exp2(mt - mt_new), scs = std::exp2(ms - ms_new);
                mt = mt_new; ms = ms_new;
                for (int q = 0; q < 4; ++q) { lt[q] *= sct; acc[q] *= sct; ls[q] *= scs; }
                for (int d = 0; d < p.ds; ++d) { Gt[d] *= sct; Gs[d] *= scs; }
                for (int c = 0; c < kt; ++c) {
                    const int q = (c % 8) / 2;
                    const float pt = std::exp2(zt[c] - mt), ps = std::exp2(zs[c] - ms);
                    const float dz = c < nvalid ? zt[c] - zs[c] : 0.f;
                    acc[q] = std::fma(pt, dz, acc[q]);
                    lt[q] += pt;
                    ls[q] += ps;
                    if (c < nvalid)
                        for (int d = 0; d < p.ds; ++d) {
                            const float v = p.qs[(size_t)(a0 + c) * p.ds + d];
                            Gt[d] = std::fma(rp(pt), v, Gt[d]);
                            Gs[d] = std::fma(rp(ps), v, Gs[d]);
                        }
                }
            }
            float* st = &stats[(size_t)s * 5 * p.b + i];
            st[0] = ms; st[p.b] = (ls[0] + ls[1]) + (ls[2] + ls[3]);
            st[2 * p.b] = mt; st[3 * p.b] = (lt[0] + lt[1]) + (lt[2] + lt[3]); st[4 * p.b] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
            for (int d = 0; d < p.ds; ++d) {
                gs[((size_t)s * p.b + i) * p.ds + d] = Gs[d];
                gt[((size_t)s * p.b + i) * p.ds + d] = Gt[d];
            }
        }
    }
    Emulated out{std::vector<float>(p.b), std::vector<float>((size_t)p.b * p.ds), 0.f};
    double sum = 0;
    for (int i = 0; i < p.b; ++i) {   // compress_merge_kernel's math
        float Mt = -INFINITY, Ms = -INFINITY;
        for (int s = 0; s < S; ++s) {
            Ms = std::max(Ms, stats[(size_t)s * 5 * p.b + i]);
            Mt = std::max(Mt, stats[(size_t)s * 5 * p.b + 2 * p.b + i]);
        }
        float Ls = 0, Lt = 0, A = 0;
        std::vector<float> wt(S), ws(S);
        for (int s = 0; s < S; ++s) {
            const float* st = &stats[(size_t)s * 5 * p.b + i];
            ws[s] = std::exp2(st[0] - Ms);
            wt[s] = std::exp2(st[2 * p.b] - Mt);
            Ls += st[p.b] * ws[s];
            Lt += st[3 * p.b] * wt[s];
            A += st[4 * p.b] * wt[s];
        }
        out.loss[i] = L::kLn2 * (A / Lt + (Ms - Mt) + (std::log2(Ls) - std::log2(Lt)));
        sum += out.loss[i];
        for (int d = 0; d < p.ds; ++d) {
            float at = 0, as = 0;
            for (int s = 0; s < S; ++s) {
                at = std::fma(wt[s], gt[((size_t)s * p.b + i) * p.ds + d], at);
                as = std::fma(ws[s], gs[((size_t)s * p.b + i) * p.ds + d], as);
            }
            out.grad[(size_t)i * p.ds + d] = (as / Ls - at / Lt) / (p.tau * p.b);
        }
    }
    out.mean = (float)(sum / p.b);
    return out;
}

static void check_algorithm() {
    struct Case { int b, k, dt, ds, bank; float tau; bool one_q; int kt, sms; };
    const Case cases[] = {
        {3, 1, 5, 5, 0, 0.04f, false, 32, 132},     {2, 31, 7, 9, 1, 0.04f, false, 32, 132},
        {5, 33, 16, 16, 0, 0.01f, true, 32, 132},   {1, 100, 3, 3, 1, 0.01f, true, 16, 7},
        {4, 1000, 33, 20, 0, 0.02f, false, 16, 3},  {7, 4097, 24, 24, 1, 0.05f, false, 32, 132},
        {6, 2500, 12, 12, 0, 0.01f, true, 32, 2},
    };
    for (const Case& c : cases) {
        const Problem p = make_problem(c.b, c.k, c.dt, c.ds, c.bank, c.tau, c.one_q, false, 99 + c.k);
        const Reference r = reference(p);
        for (int round_p = 0; round_p < 2; ++round_p) {
            const Emulated e = emulate(p, c.kt, c.sms, round_p);
            double lerr = 0, gerr = 0, gtol = 0;
            for (int i = 0; i < p.b; ++i) {
                const double err = std::fabs(e.loss[i] - r.loss[i]) / (1e-5 * (1 + r.zmax[i]));
                lerr = std::isfinite(err) ? std::max(lerr, err) : INFINITY;   // NaN fails too
            }
            for (size_t j = 0; j < e.grad.size(); ++j) {
                const double u = round_p ? (c.bank ? 1.0 / 256 : 1.0 / 1024) : 1e-5;
                const double err = std::fabs(e.grad[j] - r.grad[j]) / (u * r.grad_bound[j] + 1e-12);
                gerr = std::isfinite(err) ? std::max(gerr, err) : INFINITY;
            }
            gtol = 1.0;
            EXPECT(lerr <= 1.0 && gerr <= gtol && std::fabs(e.mean - r.mean) <= 1e-4 * (1 + std::fabs(r.mean)),
                   "emulated split-K B=%d K=%d Dt=%d Ds=%d tau=%g KT=%d SMs=%d round_p=%d: loss err %.2f x tol, grad "
                   "err %.2f x tol, mean %g vs %g",
                   c.b, c.k, c.dt, c.ds, c.tau, c.kt, c.sms, round_p, lerr, gerr, e.mean, r.mean);
        }
    }
}

// ---- 4. plan ----------------------------------------------------------------------------------------------
static void check_plans() {
    const int bs[] = {1, 2, 7, 64, 255, 256, 257, 1024, 4096, 65536};
    const int ks[] = {1, 31, 32, 33, 1000, 4097, 65536, 128000, 1 << 20};
    const int dss[] = {1, 64, 100, 128, 129, 256};
    const int smss[] = {1, 2, 7, 108, 132, 144};
    for (int b : bs)
        for (int k : ks)
            for (int ds : dss)
                for (int sms : smss)
                    for (int two = 0; two < 2; ++two) {
                        const L::Plan p = L::make_plan(b, k, ds, two, sms);
                        const bool cover = p.splits >= 1 && (int64_t)(p.splits - 1) * p.per_split < k &&
                                           (int64_t)p.splits * p.per_split >= k && p.per_split % L::kSplitUnit == 0;
                        EXPECT(cover, "plan B=%d K=%d Ds=%d SMs=%d: %d splits x %lld", b, k, ds, sms, p.splits,
                               (long long)p.per_split);
                        EXPECT(p.splits == 1 || p.bytes <= L::kWorkspaceCap, "plan over the cap: B=%d K=%d Ds=%d %lld B",
                               b, k, ds, (long long)p.bytes);
                        EXPECT(p.splits <= 65535 && p.row_tiles >= 1, "grid limits B=%d K=%d", b, k);
                        EXPECT(p.bytes == L::plan_layout(b, ds, two, p.splits).bytes, "layout mismatch");
                    }
    for (int sms : {108, 114, 132}) {
        const L::Plan p = L::make_plan(256, 128000, 128, true, sms);
        std::printf("  default shape B=256 K=128000 D=128 on %d SMs: %d splits x %lld anchors, %d row tiles, "
                    "workspace %lld bytes (%.2f MiB)\n",
                    sms, p.splits, (long long)p.per_split, p.row_tiles, (long long)p.bytes, p.bytes / 1048576.0);
        EXPECT(p.bytes <= (16ll << 20), "default workspace over 16 MiB");
    }
}

template <typename C>
static void print_config(const char* name) {
    std::printf("  %-26s KT=%d STAGES=%d rows=%d col-splits=%d smem=%zu B\n", name, C::KT, C::STAGES, C::ROWS, C::CS,
                C::SMEM);
    EXPECT(C::SMEM <= L::kSmemA100, "%s does not fit A100 shared memory", name);
}
static void print_configs() {
    print_config<L::AutoConfig<float, 128, 128, true, true>>("f32  1q  D=128");
    print_config<L::AutoConfig<float, 128, 128, true, false>>("f32  2q  D=128");
    print_config<L::AutoConfig<L::bf16, 128, 128, true, true>>("bf16 1q  D=128");
    print_config<L::AutoConfig<L::bf16, 128, 128, true, false>>("bf16 2q  D=128");
    print_config<L::AutoConfig<float, 256, 256, true, false>>("f32  2q  D=256");
    print_config<L::AutoConfig<float, 256, 128, true, false>>("f32  2q  Dt=256 Ds=128");
    print_config<L::AutoConfig<L::bf16, 256, 256, true, false>>("bf16 2q  D=256");
    print_config<L::AutoConfig<float, 0, 128, false, false>>("f32  InfoNCE D=128");
    print_config<L::AutoConfig<L::bf16, 0, 256, false, false>>("bf16 InfoNCE D=256");
}

// ---- 5. host rounding -------------------------------------------------------------------------------------
static void check_rounding() {
    EXPECT(lab::bf16_bits(1.0f) == 0x3f80, "bf16(1)");
    EXPECT(lab::bf16_bits(lab::float_of(0x3f808000u)) == 0x3f80, "bf16 tie to even (down)");
    EXPECT(lab::bf16_bits(lab::float_of(0x3f818000u)) == 0x3f82, "bf16 tie to even (up)");
    EXPECT(lab::bf16_bits(lab::float_of(0x3f808001u)) == 0x3f81, "bf16 above tie");
    EXPECT(lab::bits_of(lab::round_tf32(lab::float_of(0x3f801000u))) == 0x3f802000u, "tf32 tie away");
    EXPECT(lab::bits_of(lab::round_tf32(lab::float_of(0xbf801000u))) == 0xbf802000u, "tf32 tie away (negative)");
    EXPECT(lab::bits_of(lab::round_tf32(lab::float_of(0x3f800fffu))) == 0x3f800000u, "tf32 below tie");
}

int main() {
    lab::Rng rng(7);
    std::printf("1. fragment layouts (PTX emulation)\n");
    check_fragments<true, 32, 128, 128, 0>(rng);
    check_fragments<true, 16, 64, 64, 0>(rng);
    check_fragments<true, 32, 256, 128, 128>(rng);
    check_fragments<false, 32, 128, 128, 0>(rng);
    check_fragments<false, 16, 64, 64, 0>(rng);
    check_fragments<false, 16, 256, 128, 128>(rng);
    check_fragments<false, 32, 256, 128, 0>(rng);
    std::printf("2. shared-memory bank conflicts\n");
    check_bank_conflicts();
    std::printf("3. split-K online softmax emulation vs double reference\n");
    check_algorithm();
    std::printf("4. K-split plans and tile configs\n");
    check_plans();
    print_configs();
    std::printf("5. host rounding helpers\n");
    check_rounding();
    std::printf("%s (%d failures)\n", g_failures ? "SELFTEST FAILED" : "SELFTEST PASSED", g_failures);
    return g_failures ? 1 : 0;
}
