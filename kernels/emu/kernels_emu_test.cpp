// The layer, training and data kernels of kernels/ (elementwise, normalize, gather, activation, dropout,
// adaptive_pool, optimizer, mixed_precision; compiled unchanged with g++ against kernels/emu/cuda_emu.h) executed
// on the CPU through their production launchers, on ragged sizes, against references written from the CPU
// backend's definitions (the Java classes named at each check). Where the kernel promises the Java reference's
// bits (explicitly rounded intrinsics), the check is bitwise; sums in another order get a stated tolerance.
// Every case runs under two thread schedules and must give the same bits. The augmentation kernels run from
// AugmentEmulationTest (kernels/emu/augment_emu.cpp); the loss kernels from loss_emu_test.cpp.
//   kernels_emu_test
#include "compress_kernels.cuh"
#include "emu_control.h"
#include "nn_kernels.cuh"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace {

int failures = 0, cases = 0, runs = 0;

struct Buf {
    void* p = nullptr;
    size_t bytes = 0;
    explicit Buf(size_t n) : bytes(n ? n : 4) { cudaMalloc(&p, bytes); cudaMemset(p, 0xFF, bytes); }
    ~Buf() { cudaFree(p); }
    Buf(const Buf&) = delete;
    Buf& operator=(const Buf&) = delete;
    template <class T> T* as() const { return static_cast<T*>(p); }
    template <class T> void up(const std::vector<T>& v) { cudaMemcpy(p, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice); }
    template <class T> std::vector<T> get(size_t n) const {
        std::vector<T> v(n);
        cudaMemcpy(v.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost);
        return v;
    }
};

struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 7) {}
    uint64_t next() {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    float uniform(float lo, float hi) { return lo + (hi - lo) * (float)((next() >> 40) * 0x1p-24); }
};
std::vector<float> randn(size_t n, uint64_t seed, float lo = -2.f, float hi = 8.f) {
    Rng r(seed);
    std::vector<float> v(n);
    for (auto& x : v) x = r.uniform(lo, hi);
    return v;
}

uint32_t bits(float x) { uint32_t u; std::memcpy(&u, &x, 4); return u; }
float of_bits(uint32_t u) { float x; std::memcpy(&x, &u, 4); return x; }
uint16_t bf16_rne(float x) {   // BF16Ops / __float2bfloat16_rn: nearest even, NaN stays NaN
    uint32_t u = bits(x);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu)) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}
float bf16f(uint16_t b) { return of_bits((uint32_t)b << 16); }
std::vector<uint16_t> to_bf16(const std::vector<float>& v) {
    std::vector<uint16_t> o(v.size());
    for (size_t i = 0; i < v.size(); ++i) o[i] = bf16_rne(v[i]);
    return o;
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

// Runs `once` under schedules 1 (warp by warp) and 3 (shuffled); the outputs must be bitwise equal.
template <class T>
std::vector<T> twice(const std::string& name, const std::function<std::vector<T>()>& once) {
    emu::set_schedule(1, 11);
    std::vector<T> a = once();
    emu::set_schedule(3, 12);
    std::vector<T> b = once();
    emu::set_schedule(1, 11);
    runs += 2;
    if (!same_bits(a, b)) {
        std::printf("FAIL %s: the two thread schedules gave different bits\n", name.c_str());
        ++failures;
    }
    return a;
}

template <class T>
void expect_bitwise(const std::string& name, const std::vector<T>& got, const std::vector<T>& want) {
    ++cases;
    if (same_bits(got, want)) return;
    size_t at = 0;
    while (at < got.size() && at < want.size() && std::memcmp(&got[at], &want[at], sizeof(T)) == 0) ++at;
    std::printf("FAIL %s: differs at %zu of %zu\n", name.c_str(), at, want.size());
    ++failures;
}

void expect_close(const std::string& name, const std::vector<float>& got, const std::vector<double>& want, double rtol,
                  double atol) {
    ++cases;
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < want.size(); ++i) {
        const double tol = atol + rtol * std::fabs(want[i]);
        const double r = std::isfinite(got[i]) ? std::fabs(got[i] - want[i]) / tol : INFINITY;
        if (r > worst) worst = r, at = i;
    }
    if (worst > 1.0) {
        std::printf("FAIL %s: worst %.1f%% of tol at %zu (got %.9g want %.9g)\n", name.c_str(), 100 * worst, at, got[at], want[at]);
        ++failures;
    }
}

void check(const char* what, cudaError_t e) {
    if (e == cudaSuccess) e = cudaStreamSynchronize(nullptr);
    if (e != cudaSuccess) { std::printf("FAIL %s: %s\n", what, cudaGetErrorString(e)); ++failures; }
}

const int64_t kSizes[] = {1, 7, 257, 100003};

// ---- elementwise.cu (CpuElementwise: fill, cast, scale, axpy) ----------------------------------------------
void elementwise() {
    for (int64_t n : kSizes) {
        const std::string sz = " n=" + std::to_string(n);
        std::vector<float> x = randn(n, n), y = randn(n, n + 1);
        expect_bitwise("fill_f32" + sz, twice<float>("fill_f32", [&] { Buf b(n * 4); check("fill", compress::fill_f32(b.as<float>(), n, -3.25f, nullptr)); return b.get<float>(n); }),
                       std::vector<float>(n, -3.25f));
        expect_bitwise("fill_u16" + sz, twice<uint16_t>("fill_u16", [&] { Buf b(n * 2); check("fill", compress::fill_u16(b.as<uint16_t>(), n, 0x3f80, nullptr)); return b.get<uint16_t>(n); }),
                       std::vector<uint16_t>(n, 0x3f80));
        expect_bitwise("cast_f32_to_bf16" + sz, twice<uint16_t>("cast", [&] { Buf s(n * 4), d(n * 2); s.up(x); check("cast", compress::cast_f32_to_bf16(s.as<float>(), d.as<uint16_t>(), n, nullptr)); return d.get<uint16_t>(n); }),
                       to_bf16(x));
        std::vector<uint16_t> xb = to_bf16(x);
        std::vector<float> widened(n);
        for (int64_t i = 0; i < n; ++i) widened[i] = bf16f(xb[i]);
        expect_bitwise("cast_bf16_to_f32" + sz, twice<float>("cast", [&] { Buf s(n * 2), d(n * 4); s.up(xb); check("cast", compress::cast_bf16_to_f32(s.as<uint16_t>(), d.as<float>(), n, nullptr)); return d.get<float>(n); }),
                       widened);
        // F16: round trip through the kernels equals the host's _Float16 conversion (nearest even).
        std::vector<uint16_t> xh(n);
        std::vector<float> back(n);
        for (int64_t i = 0; i < n; ++i) {
            _Float16 h = (_Float16)x[i];
            std::memcpy(&xh[i], &h, 2);
            back[i] = (float)h;
        }
        expect_bitwise("cast_f32_to_f16" + sz, twice<uint16_t>("cast", [&] { Buf s(n * 4), d(n * 2); s.up(x); check("cast", compress::cast_f32_to_f16(s.as<float>(), d.as<uint16_t>(), n, nullptr)); return d.get<uint16_t>(n); }), xh);
        expect_bitwise("cast_f16_to_f32" + sz, twice<float>("cast", [&] { Buf s(n * 2), d(n * 4); s.up(xh); check("cast", compress::cast_f16_to_f32(s.as<uint16_t>(), d.as<float>(), n, nullptr)); return d.get<float>(n); }), back);
        std::vector<float> scaled(n), ax(n);
        for (int64_t i = 0; i < n; ++i) scaled[i] = x[i] * 0.37f;
        expect_bitwise("scale_f32" + sz, twice<float>("scale", [&] { Buf b(n * 4); b.up(x); check("scale", compress::scale_f32(b.as<float>(), n, 0.37f, nullptr)); return b.get<float>(n); }), scaled);
        // The kernel fuses (fmaf); CpuElementwise.axpy rounds the product first: they may differ by 1 ulp, which
        // the GPU tests allow. Here the kernel is held to its own definition, bitwise.
        for (int64_t i = 0; i < n; ++i) ax[i] = std::fmaf(-1.5f, x[i], y[i]);
        expect_bitwise("axpy_f32" + sz, twice<float>("axpy", [&] { Buf bx(n * 4), by(n * 4); bx.up(x); by.up(y); check("axpy", compress::axpy_f32(n, -1.5f, bx.as<float>(), by.as<float>(), nullptr)); return by.get<float>(n); }), ax);
    }
    // More elements than the grid-stride cap (8192 blocks x 256 threads): every thread loops.
    const int64_t big = 8192LL * 256 + 1001;
    expect_bitwise("fill_f32 n=" + std::to_string(big), twice<float>("fill_f32", [&] { Buf b(big * 4); check("fill", compress::fill_f32(b.as<float>(), big, 2.5f, nullptr)); return b.get<float>(big); }),
                   std::vector<float>(big, 2.5f));
}

// ---- normalize.cu (CpuNormalize: y = x / max(||x||, eps); dx = (dy - y <y, dy>) / norm) -------------------
void normalize() {
    for (auto [rows, cols] : {std::pair{1, 1}, std::pair{7, 3}, std::pair{17, 128}, std::pair{3, 1000}}) {
        std::vector<float> x = randn((size_t)rows * cols, rows * 100 + cols, -1, 1), dy = randn((size_t)rows * cols, cols, -1, 1);
        const std::string name = "l2_normalize rows=" + std::to_string(rows) + " cols=" + std::to_string(cols);
        auto out = twice<float>(name, [&] {
            Buf bx(x.size() * 4), by(x.size() * 4), bn(rows * 4), bdy(x.size() * 4), bdx(x.size() * 4);
            bx.up(x);
            bdy.up(dy);
            check("normalize", compress::l2_normalize_rows_f32(bx.as<float>(), by.as<float>(), bn.as<float>(), rows, cols, 1e-12f, nullptr));
            check("normalize backward", compress::l2_normalize_rows_backward_f32(by.as<float>(), bn.as<float>(), bdy.as<float>(), bdx.as<float>(), rows, cols, nullptr));
            std::vector<float> r = by.get<float>(x.size()), d = bdx.get<float>(x.size()), n = bn.get<float>(rows);
            r.insert(r.end(), d.begin(), d.end());
            r.insert(r.end(), n.begin(), n.end());
            return r;
        });
        std::vector<double> wy(x.size()), wdx(x.size()), wn(rows);
        for (int i = 0; i < rows; ++i) {
            double ss = 0, dot = 0;
            for (int j = 0; j < cols; ++j) ss += (double)x[i * cols + j] * x[i * cols + j];
            wn[i] = std::max(std::sqrt(ss), 1e-12);
            for (int j = 0; j < cols; ++j) wy[i * cols + j] = x[i * cols + j] / wn[i];
            for (int j = 0; j < cols; ++j) dot += wy[i * cols + j] * dy[i * cols + j];
            for (int j = 0; j < cols; ++j) wdx[i * cols + j] = (dy[i * cols + j] - wy[i * cols + j] * dot) / wn[i];
        }
        // FP32 sums of `cols` terms: a few ulps times sqrt(cols).
        const double rt = 4e-7 * std::sqrt((double)cols) + 2e-7;
        expect_close(name + " y", std::vector<float>(out.begin(), out.begin() + x.size()), wy, rt, 1e-7);
        expect_close(name + " dx", std::vector<float>(out.begin() + x.size(), out.begin() + 2 * x.size()), wdx, rt, rt);
        expect_close(name + " norms", std::vector<float>(out.begin() + 2 * x.size(), out.end()), wn, rt, 0);
    }
}

// ---- gather.cu (CpuGather: out[i] = table[idx[i]]) ---------------------------------------------------------
void gather() {
    const int n = 50, d = 37, b = 9;
    std::vector<float> table = randn((size_t)n * d, 5);
    std::vector<int32_t> idx = {0, 49, 3, 3, 17, 48, 1, 2, 25};
    auto got = twice<float>("gather", [&] {
        Buf bt(table.size() * 4), bi(b * 4), bo((size_t)b * d * 4);
        bt.up(table);
        bi.up(idx);
        check("gather", compress::gather_rows_f32(bt.as<float>(), n, d, bi.as<int32_t>(), b, bo.as<float>(), nullptr));
        return bo.get<float>((size_t)b * d);
    });
    std::vector<float> want;
    for (int i : idx) want.insert(want.end(), table.begin() + (size_t)i * d, table.begin() + (size_t)(i + 1) * d);
    expect_bitwise("gather_rows_f32 n=50 d=37 b=9", got, want);
}

// ---- activation.cu (CpuActivation, DropoutOp) ----------------------------------------------------------------
float act_ref(int act, float v) { return act == 1 ? (v > 0 ? v : 0) : act == 2 ? (v > 0 ? (v < 6 ? v : 6) : 0) : v; }
bool pass_ref(int act, float y) { return act == 1 ? y > 0 : act == 2 ? (y > 0 && y < 6) : true; }
float dropout_u(uint64_t seed, uint64_t i) {   // DropoutOp.uniform
    uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z = z ^ (z >> 31);
    return (float)(z >> 40) * 0x1p-24f;
}

void activation() {
    for (int64_t n : {(int64_t)7, (int64_t)1000}) {
        std::vector<float> a = randn(n, 3 * n), b = randn(n, 3 * n + 1), dy = randn(n, 3 * n + 2);
        for (int act = 0; act < 3; ++act) {
            const std::string sz = " act=" + std::to_string(act) + " n=" + std::to_string(n);
            std::vector<float> y(n), s(n), dx(n);
            for (int64_t i = 0; i < n; ++i) {
                y[i] = act_ref(act, a[i]);
                s[i] = act_ref(act, a[i] + b[i]);
                dx[i] = pass_ref(act, y[i]) ? dy[i] : 0.f;
            }
            auto f32 = twice<float>("activation" + sz, [&] {
                Buf ba(n * 4), bb(n * 4), by(n * 4), bs(n * 4), bdy(n * 4), bdx(n * 4);
                ba.up(a); bb.up(b); bdy.up(dy);
                check("act", compress::activation_forward_f32(ba.as<float>(), by.as<float>(), n, act, nullptr));
                check("add act", compress::add_activation_forward_f32(ba.as<float>(), bb.as<float>(), bs.as<float>(), n, act, nullptr));
                check("act bwd", compress::activation_backward_f32(by.as<float>(), bdy.as<float>(), bdx.as<float>(), n, act, nullptr));
                std::vector<float> r = by.get<float>(n), r2 = bs.get<float>(n), r3 = bdx.get<float>(n);
                r.insert(r.end(), r2.begin(), r2.end());
                r.insert(r.end(), r3.begin(), r3.end());
                return r;
            });
            std::vector<float> want = y;
            want.insert(want.end(), s.begin(), s.end());
            want.insert(want.end(), dx.begin(), dx.end());
            expect_bitwise("activation f32" + sz, f32, want);
            // BF16 storage: computed in F32 from the widened inputs, rounded once on store.
            std::vector<uint16_t> ab = to_bf16(a), bbv = to_bf16(b), dyb = to_bf16(dy), wantb;
            std::vector<uint16_t> yb(n), sb(n), dxb(n);
            for (int64_t i = 0; i < n; ++i) {
                yb[i] = bf16_rne(act_ref(act, bf16f(ab[i])));
                sb[i] = bf16_rne(act_ref(act, bf16f(ab[i]) + bf16f(bbv[i])));
                dxb[i] = bf16_rne(pass_ref(act, bf16f(yb[i])) ? bf16f(dyb[i]) : 0.f);
            }
            auto bf = twice<uint16_t>("activation bf16" + sz, [&] {
                Buf ba(n * 2), bb(n * 2), by(n * 2), bs(n * 2), bdy(n * 2), bdx(n * 2);
                ba.up(ab); bb.up(bbv); bdy.up(dyb);
                check("act", compress::activation_forward_bf16(ba.as<uint16_t>(), by.as<uint16_t>(), n, act, nullptr));
                check("add act", compress::add_activation_forward_bf16(ba.as<uint16_t>(), bb.as<uint16_t>(), bs.as<uint16_t>(), n, act, nullptr));
                check("act bwd", compress::activation_backward_bf16(by.as<uint16_t>(), bdy.as<uint16_t>(), bdx.as<uint16_t>(), n, act, nullptr));
                std::vector<uint16_t> r = by.get<uint16_t>(n), r2 = bs.get<uint16_t>(n), r3 = bdx.get<uint16_t>(n);
                r.insert(r.end(), r2.begin(), r2.end());
                r.insert(r.end(), r3.begin(), r3.end());
                return r;
            });
            wantb = yb;
            wantb.insert(wantb.end(), sb.begin(), sb.end());
            wantb.insert(wantb.end(), dxb.begin(), dxb.end());
            expect_bitwise("activation bf16" + sz, bf, wantb);
        }
        // Inverted dropout: keep i when u(seed, i) >= p, y = x * (1 / (1 - p)) rounded once.
        const float p = 0.3f, scale = 1.f / (1.f - p);
        const uint64_t seed = 0xC0FFEE + n;
        std::vector<float> wy(n), wdx(n);
        for (int64_t i = 0; i < n; ++i) {
            const bool keep = dropout_u(seed, i) >= p;
            wy[i] = keep ? a[i] * scale : 0.f;
            wdx[i] = keep ? dy[i] * scale : 0.f;
        }
        auto d = twice<float>("dropout", [&] {
            Buf bx(n * 4), by(n * 4), bm(n), bdy(n * 4), bdx(n * 4);
            bx.up(a); bdy.up(dy);
            check("dropout", compress::dropout_forward_f32(bx.as<float>(), by.as<float>(), bm.as<uint8_t>(), n, p, seed, nullptr));
            check("dropout bwd", compress::dropout_backward_f32(bdy.as<float>(), bm.as<uint8_t>(), bdx.as<float>(), n, p, nullptr));
            std::vector<float> r = by.get<float>(n), r2 = bdx.get<float>(n);
            r.insert(r.end(), r2.begin(), r2.end());
            return r;
        });
        wy.insert(wy.end(), wdx.begin(), wdx.end());
        expect_bitwise("dropout n=" + std::to_string(n), d, wy);
    }
}

// ---- adaptive_pool.cu (CpuPooling.adaptiveAvg: PyTorch's bins) ---------------------------------------------
void pooling() {
    struct Shape { int n, c, h, w, oh, ow; };
    for (Shape s : {Shape{2, 3, 7, 5, 1, 1}, Shape{1, 5, 7, 7, 3, 2}, Shape{3, 2, 4, 6, 5, 7}}) {
        for (bool cl : {false, true}) {
            for (bool bf : {false, true}) {
                char name[120];
                std::snprintf(name, sizeof name, "adaptive_avg_pool N=%d C=%d %dx%d -> %dx%d %s %s", s.n, s.c, s.h, s.w, s.oh, s.ow,
                              cl ? "NHWC" : "NCHW", bf ? "BF16" : "F32");
                const size_t nin = (size_t)s.n * s.c * s.h * s.w, nout = (size_t)s.n * s.c * s.oh * s.ow;
                std::vector<float> x = randn(nin, nin), dy = randn(nout, nout);
                if (bf) {
                    for (auto& v : x) v = bf16f(bf16_rne(v));
                    for (auto& v : dy) v = bf16f(bf16_rne(v));
                }
                auto off = [&](int n, int c, int h, int w, int H, int W) {
                    return cl ? (((size_t)n * H + h) * W + w) * s.c + c : (((size_t)n * s.c + c) * H + h) * W + w;
                };
                auto b0 = [](int o, int in, int out) { return (int)((int64_t)o * in / out); };
                auto b1 = [](int o, int in, int out) { return (int)(((int64_t)(o + 1) * in + out - 1) / out); };
                std::vector<double> wy(nout), wdx(nin, 0.0);
                for (int n = 0; n < s.n; ++n)
                    for (int c = 0; c < s.c; ++c)
                        for (int i = 0; i < s.oh; ++i)
                            for (int j = 0; j < s.ow; ++j) {
                                const int h0 = b0(i, s.h, s.oh), h1 = b1(i, s.h, s.oh), w0 = b0(j, s.w, s.ow), w1 = b1(j, s.w, s.ow);
                                const double cnt = (double)(h1 - h0) * (w1 - w0);
                                double sum = 0;
                                for (int a = h0; a < h1; ++a)
                                    for (int b = w0; b < w1; ++b) sum += x[off(n, c, a, b, s.h, s.w)];
                                wy[off(n, c, i, j, s.oh, s.ow)] = sum / cnt;
                                for (int a = h0; a < h1; ++a)
                                    for (int b = w0; b < w1; ++b) wdx[off(n, c, a, b, s.h, s.w)] += dy[off(n, c, i, j, s.oh, s.ow)] / cnt;
                            }
                auto got = twice<float>(name, [&] {
                    std::vector<float> y, dx;
                    if (bf) {
                        std::vector<uint16_t> xb = to_bf16(x), dyb = to_bf16(dy);
                        Buf bx(nin * 2), by(nout * 2), bdy(nout * 2), bdx(nin * 2);
                        bx.up(xb); bdy.up(dyb);
                        check(name, compress::adaptive_avg_pool_forward_bf16(bx.as<uint16_t>(), by.as<uint16_t>(), s.n, s.c, s.h, s.w, s.oh, s.ow, cl, nullptr));
                        check(name, compress::adaptive_avg_pool_backward_bf16(bdy.as<uint16_t>(), bdx.as<uint16_t>(), s.n, s.c, s.h, s.w, s.oh, s.ow, cl, nullptr));
                        for (uint16_t v : by.get<uint16_t>(nout)) y.push_back(bf16f(v));
                        for (uint16_t v : bdx.get<uint16_t>(nin)) dx.push_back(bf16f(v));
                    } else {
                        Buf bx(nin * 4), by(nout * 4), bdy(nout * 4), bdx(nin * 4);
                        bx.up(x); bdy.up(dy);
                        check(name, compress::adaptive_avg_pool_forward_f32(bx.as<float>(), by.as<float>(), s.n, s.c, s.h, s.w, s.oh, s.ow, cl, nullptr));
                        check(name, compress::adaptive_avg_pool_backward_f32(bdy.as<float>(), bdx.as<float>(), s.n, s.c, s.h, s.w, s.oh, s.ow, cl, nullptr));
                        y = by.get<float>(nout);
                        dx = bdx.get<float>(nin);
                    }
                    y.insert(y.end(), dx.begin(), dx.end());
                    return y;
                });
                // FP32 sums over a bin (<= 49 terms); BF16: one rounding of the result (2^-8 relative).
                const double rt = bf ? 1.0 / 256 : 1e-6;
                expect_close(std::string(name) + " forward", std::vector<float>(got.begin(), got.begin() + nout), wy, rt, 1e-6);
                expect_close(std::string(name) + " backward", std::vector<float>(got.begin() + nout, got.end()), wdx, rt, 1e-6);
            }
        }
    }
}

// ---- optimizer.cu (CpuSgd / CpuEma: the same rounded operations, so bitwise) and mixed_precision.cu ----------
struct Table {   // CudaTensorTable's layout: one block per kMultiTensorChunk elements of one tensor
    std::vector<int64_t> numel;
    std::vector<int32_t> block_tensor;
    std::vector<int64_t> block_start;
    explicit Table(const std::vector<int64_t>& sizes) : numel(sizes) {
        for (size_t t = 0; t < sizes.size(); ++t)
            for (int64_t s = 0; s < sizes[t]; s += compress::kMultiTensorChunk) {
                block_tensor.push_back((int32_t)t);
                block_start.push_back(s);
            }
    }
};

void optimizer() {
    const std::vector<int64_t> sizes = {1, 4096, 4097, 10000, 33};
    const int T = (int)sizes.size();
    Table tab(sizes);
    for (bool nesterov : {false, true})
        for (bool first : {true, false}) {
            const float lr = 0.03f, mom = 0.9f, damp = nesterov ? 0.f : 0.1f;
            std::vector<float> wd = {0.f, 1e-4f, 5e-4f, 0.f, 1e-3f};
            std::vector<std::vector<float>> p, g, buf;
            for (int t = 0; t < T; ++t) {
                p.push_back(randn(sizes[t], 10 + t, -1, 1));
                g.push_back(randn(sizes[t], 20 + t, -1, 1));
                buf.push_back(randn(sizes[t], 30 + t, -1, 1));
            }
            const std::string name = std::string("sgd_multi_tensor nesterov=") + (nesterov ? "1" : "0") + " first=" + (first ? "1" : "0");
            auto got = twice<float>(name, [&] {
                std::vector<Buf*> bufs;
                std::vector<int64_t> ptrs(3 * T);
                for (int list = 0; list < 3; ++list)
                    for (int t = 0; t < T; ++t) {
                        Buf* b = new Buf(sizes[t] * 4);
                        b->up(list == 0 ? p[t] : list == 1 ? g[t] : buf[t]);
                        ptrs[list * T + t] = (int64_t)(uintptr_t)b->p;
                        bufs.push_back(b);
                    }
                Buf bp(ptrs.size() * 8), bn(T * 8), bw(T * 4), bt(tab.block_tensor.size() * 4), bs(tab.block_start.size() * 8);
                bp.up(ptrs); bn.up(tab.numel); bw.up(wd); bt.up(tab.block_tensor); bs.up(tab.block_start);
                check("sgd", compress::sgd_multi_tensor_f32(bp.as<int64_t>(), T, bn.as<int64_t>(), bw.as<float>(), bt.as<int32_t>(),
                                                            bs.as<int64_t>(), (int)tab.block_tensor.size(), lr, mom, damp, nesterov, first, nullptr));
                std::vector<float> out;
                for (int t = 0; t < T; ++t) {
                    auto a = bufs[t]->get<float>(sizes[t]), b = bufs[2 * T + t]->get<float>(sizes[t]);
                    out.insert(out.end(), a.begin(), a.end());
                    out.insert(out.end(), b.begin(), b.end());
                }
                for (Buf* b : bufs) delete b;
                return out;
            });
            std::vector<float> want;
            for (int t = 0; t < T; ++t) {
                std::vector<float> pp = p[t], bb = buf[t];
                for (int64_t i = 0; i < sizes[t]; ++i) {
                    float d = g[t][i];
                    if (wd[t] != 0.f) d = d + wd[t] * pp[i];
                    const float b = first ? d : mom * bb[i] + (1.f - damp) * d;
                    bb[i] = b;
                    d = nesterov ? d + mom * b : b;
                    pp[i] = pp[i] - lr * d;
                }
                want.insert(want.end(), pp.begin(), pp.end());
                want.insert(want.end(), bb.begin(), bb.end());
            }
            expect_bitwise(name, got, want);
        }
    {   // EMA: t = t m + s (1 - m)
        const float m = 0.999f, om = 1.f - m;
        std::vector<std::vector<float>> tg, src;
        for (int t = 0; t < T; ++t) tg.push_back(randn(sizes[t], 40 + t, -1, 1)), src.push_back(randn(sizes[t], 50 + t, -1, 1));
        auto got = twice<float>("ema", [&] {
            std::vector<Buf*> bufs;
            std::vector<int64_t> ptrs(2 * T);
            for (int list = 0; list < 2; ++list)
                for (int t = 0; t < T; ++t) {
                    Buf* b = new Buf(sizes[t] * 4);
                    b->up(list == 0 ? tg[t] : src[t]);
                    ptrs[list * T + t] = (int64_t)(uintptr_t)b->p;
                    bufs.push_back(b);
                }
            Buf bp(ptrs.size() * 8), bn(T * 8), bt(tab.block_tensor.size() * 4), bs(tab.block_start.size() * 8), counter(8);
            bp.up(ptrs); bn.up(tab.numel); bt.up(tab.block_tensor); bs.up(tab.block_start);
            counter.up(std::vector<int64_t>{41});
            check("ema", compress::ema_multi_tensor_f32(bp.as<int64_t>(), T, bn.as<int64_t>(), bt.as<int32_t>(), bs.as<int64_t>(),
                                                        (int)tab.block_tensor.size(), m, om, nullptr));
            check("increment", compress::increment_i64(counter.as<int64_t>(), nullptr));
            std::vector<float> out;
            for (int t = 0; t < T; ++t) {
                auto a = bufs[t]->get<float>(sizes[t]);
                out.insert(out.end(), a.begin(), a.end());
            }
            out.push_back((float)counter.get<int64_t>(1)[0]);
            for (Buf* b : bufs) delete b;
            return out;
        });
        std::vector<float> want;
        for (int t = 0; t < T; ++t)
            for (int64_t i = 0; i < sizes[t]; ++i) want.push_back(tg[t][i] * m + src[t][i] * om);
        want.push_back(42.f);
        expect_bitwise("ema_multi_tensor + increment_i64", got, want);
    }
}

void mixed_precision() {
    const int N = 2, C = 3, H = 5, W = 7;
    const int64_t n = (int64_t)N * C * H * W, hw = H * W;
    std::vector<float> x = randn(n, 77);
    auto nchw = [&](int b, int c, int p) { return ((int64_t)b * C + c) * hw + p; };
    auto nhwc = [&](int b, int c, int p) { return ((int64_t)b * hw + p) * C + c; };
    for (int flags = 0; flags < 16; ++flags) {
        const bool sb = flags & compress::kConvertSourceBf16, tb = flags & compress::kConvertTargetBf16;
        const bool sn = flags & compress::kConvertSourceNhwc, tn = flags & compress::kConvertTargetNhwc;
        // Source storage: x's logical values (rounded to BF16 when the source is BF16) in the source layout.
        std::vector<float> logical(n), src(n), want(n);
        for (int64_t i = 0; i < n; ++i) logical[i] = sb ? bf16f(bf16_rne(x[i])) : x[i];
        for (int b = 0; b < N; ++b)
            for (int c = 0; c < C; ++c)
                for (int p = 0; p < hw; ++p) {
                    const float v = logical[nchw(b, c, p)];
                    src[sn ? nhwc(b, c, p) : nchw(b, c, p)] = v;
                    want[tn ? nhwc(b, c, p) : nchw(b, c, p)] = tb ? bf16f(bf16_rne(v)) : v;
                }
        const std::string name = "convert_tensor flags=" + std::to_string(flags);
        auto run = [&](bool multi) {
            return twice<float>(name, [&] {
                Buf bs(n * 4), bd(n * 4);
                if (sb) bs.up(to_bf16(src)); else bs.up(src);
                if (multi) {
                    Table tab({n});
                    std::vector<int64_t> ptrs = {(int64_t)(uintptr_t)bs.p, (int64_t)(uintptr_t)bd.p}, meta = {C, hw, flags};
                    Buf bp(16), bn(8), bm(24), bt(tab.block_tensor.size() * 4), bst(tab.block_start.size() * 8);
                    bp.up(ptrs); bn.up(tab.numel); bm.up(meta); bt.up(tab.block_tensor); bst.up(tab.block_start);
                    check("convert multi", compress::convert_multi_tensor(bp.as<int64_t>(), 1, bn.as<int64_t>(), bm.as<int64_t>(), bt.as<int32_t>(),
                                                                          bst.as<int64_t>(), (int)tab.block_tensor.size(), nullptr));
                } else {
                    check("convert", compress::convert_tensor(bs.p, bd.p, n, C, hw, flags, nullptr));
                }
                std::vector<float> out(n);
                if (tb) {
                    auto v = bd.get<uint16_t>(n);
                    for (int64_t i = 0; i < n; ++i) out[i] = bf16f(v[i]);
                } else {
                    out = bd.get<float>(n);
                }
                return out;
            });
        };
        expect_bitwise(name, run(false), want);
        expect_bitwise("convert_multi_tensor flags=" + std::to_string(flags), run(true), want);
    }
    for (int64_t m : {(int64_t)1, (int64_t)1001}) {   // BF16 axpy: y = bf16(y + f32(alpha x))
        std::vector<uint16_t> xb = to_bf16(randn(m, 88)), yb = to_bf16(randn(m, 89)), want(m);
        for (int64_t i = 0; i < m; ++i) want[i] = bf16_rne(bf16f(yb[i]) + 0.7f * bf16f(xb[i]));
        auto got = twice<uint16_t>("axpy_bf16", [&] {
            Buf bx(m * 2), by(m * 2);
            bx.up(xb); by.up(yb);
            check("axpy bf16", compress::axpy_bf16(m, 0.7f, bx.as<uint16_t>(), by.as<uint16_t>(), nullptr));
            return by.get<uint16_t>(m);
        });
        expect_bitwise("axpy_bf16 n=" + std::to_string(m), got, want);
    }
}

}  // namespace

int main() {
    emu::set_device(132, 166912);
    elementwise();
    normalize();
    gather();
    activation();
    pooling();
    optimizer();
    mixed_precision();
    std::printf("layer/training kernels: %d kernels (%d compiled instances), %d cases, %d runs, %ld launches, %d failures\n",
                emu::kernels_run(), emu::kernel_instances_run(), cases, runs, emu::launches(), failures);
    return failures ? 1 : 0;
}
