// Kernel lab for the row-wise loss steps and bank helpers (kernels/loss_rows.cu): compress_loss_rows and
// infonce_rows (out of place and in place) against a double CPU reference, mean_f32, bank_enqueue (F32 and
// BF16 with wrap-around, bit-exact round-to-nearest-even), count_non_finite; plus the time of the rows kernels.
// Usage: rows_and_bank [B K TAU] [--no-timing]   (defaults 256 128000 0.04 for the timing; checks use their own
//        shapes). Exit status: 0 all checks passed, 1 a check failed, 2 a CUDA error.
#include <limits>
#include "../loss_rows.cu"
#include "lab_common.cuh"

namespace L = compress::loss_detail;
using lab::DeviceBuffer;

static int g_failures = 0;
static void expect(bool ok, const char* what) {
    std::printf("  %-70s %s\n", what, ok ? "ok" : "FAILED");
    if (!ok) ++g_failures;
}

// Reference for both rows kernels: per row softmax(a/tau) and softmax(b/tau) (b empty for InfoNCE).
static void check_compress_rows(int b, int k, float tau, uint64_t seed) {
    lab::Rng rng(seed);
    std::vector<float> zt((size_t)b * k), zs((size_t)b * k);
    for (auto& x : zt) x = (float)(2 * rng.uniform() - 1);
    for (size_t e = 0; e < zs.size(); ++e) zs[e] = 0.7f * zt[e] + 0.3f * (float)(2 * rng.uniform() - 1);
    std::vector<double> loss(b), diff((size_t)b * k), dtol((size_t)b * k), ltol(b);
    for (int i = 0; i < b; ++i) {
        const float* a = &zt[(size_t)i * k];
        const float* c = &zs[(size_t)i * k];
        double mt = -INFINITY, ms = -INFINITY;
        for (int j = 0; j < k; ++j) { mt = std::max(mt, a[j] / (double)tau); ms = std::max(ms, c[j] / (double)tau); }
        double lt = 0, ls = 0;
        for (int j = 0; j < k; ++j) { lt += std::exp(a[j] / (double)tau - mt); ls += std::exp(c[j] / (double)tau - ms); }
        double kl = 0;
        for (int j = 0; j < k; ++j) {
            const double pt = std::exp(a[j] / (double)tau - mt) / lt, ps = std::exp(c[j] / (double)tau - ms) / ls;
            kl += pt * (std::log(pt) - std::log(ps));
            diff[(size_t)i * k + j] = (ps - pt) / (tau * (double)b);
            dtol[(size_t)i * k + j] = 1e-5 * (ps + pt) / (tau * (double)b) + 1e-30;
        }
        loss[i] = kl;
        ltol[i] = 1e-5 * (1.0 / tau + std::fabs(kl));
    }
    DeviceBuffer dzt(zt.size() * 4), dzs(zs.size() * 4), dloss(b * 4), ddiff(zt.size() * 4), dloss2(b * 4);
    dzt.upload(zt.data(), zt.size() * 4);
    dzs.upload(zs.data(), zs.size() * 4);
    CUDA_CHECK(compress::compress_loss_rows(dzt.as<float>(), dzs.as<float>(), b, k, 1.f / tau, dloss.as<float>(),
                                            ddiff.as<float>(), 0));
    CUDA_CHECK(cudaDeviceSynchronize());
    const auto gl = dloss.download<float>(b);
    const auto gd = ddiff.download<float>(zt.size());
    const lab::Check cl = lab::check_close(gl.data(), loss.data(), ltol.data(), b);
    const lab::Check cd = lab::check_close(gd.data(), diff.data(), dtol.data(), gd.size());
    lab::print_check("loss", cl);
    lab::print_check("diff", cd);
    char what[160];
    std::snprintf(what, sizeof what, "compress_loss_rows B=%d K=%d tau=%g within tolerance", b, k, tau);
    expect(cl.ok() && cd.ok(), what);
    // In place: diff aliases zs; must give the same bits.
    CUDA_CHECK(compress::compress_loss_rows(dzt.as<float>(), dzs.as<float>(), b, k, 1.f / tau, dloss2.as<float>(),
                                            dzs.as<float>(), 0));
    CUDA_CHECK(cudaDeviceSynchronize());
    std::snprintf(what, sizeof what, "compress_loss_rows in place (diff == zs) bitwise equal");
    expect(dloss2.download<float>(b) == gl && dzs.download<float>(zs.size()) == gd, what);
}

static void check_infonce_rows(int b, int n, float tau, uint64_t seed) {
    lab::Rng rng(seed);
    std::vector<float> z((size_t)b * n);
    for (auto& x : z) x = (float)(2 * rng.uniform() - 1);
    std::vector<double> loss(b), diff(z.size()), dtol(z.size()), ltol(b);
    for (int i = 0; i < b; ++i) {
        const float* a = &z[(size_t)i * n];
        double m = -INFINITY, l = 0;
        for (int j = 0; j < n; ++j) m = std::max(m, a[j] / (double)tau);
        for (int j = 0; j < n; ++j) l += std::exp(a[j] / (double)tau - m);
        loss[i] = m + std::log(l) - a[0] / (double)tau;
        ltol[i] = 1e-5 * (1.0 / tau + std::fabs(loss[i]));
        for (int j = 0; j < n; ++j) {
            const double p = std::exp(a[j] / (double)tau - m) / l;
            diff[(size_t)i * n + j] = (p - (j == 0)) / (tau * (double)b);
            dtol[(size_t)i * n + j] = 1e-5 * (p + (j == 0)) / (tau * (double)b) + 1e-30;
        }
    }
    DeviceBuffer dz(z.size() * 4), dloss(b * 4), ddiff(z.size() * 4), dloss2(b * 4);
    dz.upload(z.data(), z.size() * 4);
    CUDA_CHECK(compress::infonce_rows(dz.as<float>(), b, n, 1.f / tau, dloss.as<float>(), ddiff.as<float>(), 0));
    CUDA_CHECK(cudaDeviceSynchronize());
    const auto gl = dloss.download<float>(b);
    const auto gd = ddiff.download<float>(z.size());
    const lab::Check cl = lab::check_close(gl.data(), loss.data(), ltol.data(), b);
    const lab::Check cd = lab::check_close(gd.data(), diff.data(), dtol.data(), gd.size());
    lab::print_check("loss", cl);
    lab::print_check("diff", cd);
    char what[160];
    std::snprintf(what, sizeof what, "infonce_rows B=%d K+1=%d tau=%g within tolerance", b, n, tau);
    expect(cl.ok() && cd.ok(), what);
    CUDA_CHECK(compress::infonce_rows(dz.as<float>(), b, n, 1.f / tau, dloss2.as<float>(), dz.as<float>(), 0));
    CUDA_CHECK(cudaDeviceSynchronize());
    expect(dloss2.download<float>(b) == gl && dz.download<float>(z.size()) == gd,
           "infonce_rows in place (diff == logits) bitwise equal");
}

static void check_mean(int n, uint64_t seed) {
    lab::Rng rng(seed);
    std::vector<float> x(n);
    double s = 0;
    for (auto& v : x) { v = (float)(rng.normal() * 3 + 1); s += v; }
    DeviceBuffer dx(n * 4), out(4), out2(4);
    dx.upload(x.data(), n * 4);
    CUDA_CHECK(compress::mean_f32(dx.as<float>(), n, out.as<float>(), 0));
    CUDA_CHECK(compress::mean_f32(dx.as<float>(), n, out2.as<float>(), 0));
    CUDA_CHECK(cudaDeviceSynchronize());
    const float got = out.download<float>(1)[0], again = out2.download<float>(1)[0];
    char what[160];
    std::snprintf(what, sizeof what, "mean_f32 n=%d: %.9g vs %.9g, repeat bitwise equal", n, got, s / n);
    expect(std::fabs(got - s / n) <= 1e-6 * (1 + std::fabs(s / n)) && lab::bits_of(got) == lab::bits_of(again), what);
}

static void check_enqueue(int bank_type, int k, int d, int b, int start) {
    const int elem = bank_type == compress::kBankBF16 ? 2 : 4;
    std::vector<float> keys((size_t)b * d);
    lab::Rng rng(11);
    for (size_t e = 0; e < keys.size(); ++e) keys[e] = (float)rng.normal();
    // BF16 rounding ties and near-ties in the first row: 1 + 2^-8 (tie, even down), 1 + 3*2^-8 (tie, even up).
    if (d >= 3) {
        keys[0] = lab::float_of(0x3f808000u);
        keys[1] = lab::float_of(0x3f818000u);
        keys[2] = lab::float_of(0x3f808001u);
    }
    DeviceBuffer bank((size_t)k * d * elem), dk(keys.size() * 4);   // bank poisoned with 0xFF
    dk.upload(keys.data(), keys.size() * 4);
    CUDA_CHECK(compress::bank_enqueue(bank.p, bank_type, k, d, dk.as<float>(), b, start, 0));
    CUDA_CHECK(cudaDeviceSynchronize());
    const auto raw = bank.download<uint8_t>((size_t)k * d * elem);
    bool ok = true;
    for (int row = 0; row < k; ++row) {
        const int i = ((row - start) % k + k) % k;   // which key lands here, if i < b
        for (int c = 0; c < d; ++c) {
            const uint8_t* at = &raw[((size_t)row * d + c) * elem];
            if (i < b) {
                const float key = keys[(size_t)i * d + c];
                if (elem == 4) { float v; std::memcpy(&v, at, 4); ok &= lab::bits_of(v) == lab::bits_of(key); }
                else { uint16_t v; std::memcpy(&v, at, 2); ok &= v == lab::bf16_bits(key); }
            } else {
                for (int e = 0; e < elem; ++e) ok &= at[e] == 0xFF;   // untouched
            }
        }
    }
    char what[160];
    std::snprintf(what, sizeof what, "bank_enqueue %s K=%d D=%d B=%d start=%d (wrap, exact, others untouched)",
                  elem == 2 ? "bf16" : "f32", k, d, b, start);
    expect(ok, what);
}

static void check_count_non_finite() {
    std::vector<float> x(100003, 1.f);
    x[5] = NAN; x[77] = INFINITY; x[100002] = -INFINITY;
    x[9] = std::numeric_limits<float>::max(); x[10] = std::numeric_limits<float>::denorm_min(); x[11] = -0.f;
    DeviceBuffer dx(x.size() * 4), out(4);
    dx.upload(x.data(), x.size() * 4);
    CUDA_CHECK(compress::count_non_finite(dx.as<float>(), (int64_t)x.size(), out.as<int>(), 0));
    CUDA_CHECK(cudaDeviceSynchronize());
    const int n = out.download<int>(1)[0];
    CUDA_CHECK(compress::count_non_finite(dx.as<float>(), 0, out.as<int>(), 0));
    CUDA_CHECK(cudaDeviceSynchronize());
    const int zero = out.download<int>(1)[0];
    char what[160];
    std::snprintf(what, sizeof what, "count_non_finite: %d (expect 3), n=0 gives %d", n, zero);
    expect(n == 3 && zero == 0, what);
}

int main(int argc, char** argv) {
    lab::Args args(argc, argv);
    const int tb = std::stoi(args.positional(0, "256")), tk = std::stoi(args.positional(1, "128000"));
    const float ttau = std::stof(args.positional(2, "0.04"));
    const lab::Peaks peaks = lab::device_peaks();
    std::printf("device %s\n", peaks.name.c_str());
    check_compress_rows(7, 100003, 0.05f, 1);
    check_compress_rows(3, 1, 0.04f, 2);
    check_compress_rows(257, 513, 0.01f, 3);
    check_infonce_rows(5, 65537, 0.2f, 4);
    check_infonce_rows(2, 1, 0.07f, 5);
    check_infonce_rows(129, 300, 0.01f, 6);
    check_mean(1, 7);
    check_mean(257, 8);
    check_mean(1000003, 9);
    check_enqueue(compress::kBankF32, 10, 7, 4, 8);
    check_enqueue(compress::kBankBF16, 10, 7, 4, 8);
    check_enqueue(compress::kBankBF16, 5, 3, 5, 3);
    check_enqueue(compress::kBankF32, 6, 128, 1, 0);
    check_count_non_finite();
    if (!args.has("--no-timing")) {
        const size_t n = (size_t)tb * tk;
        DeviceBuffer zt(n * 4), zs(n * 4), loss(tb * 4);
        CUDA_CHECK(compress::mean_f32(zt.as<float>(), 1, loss.as<float>(), 0));   // warm the module
        CUDA_CHECK(cudaMemset(zt.p, 0, n * 4));
        CUDA_CHECK(cudaMemset(zs.p, 0, n * 4));
        const double ms = lab::median_ms([&] {
            compress::compress_loss_rows(zt.as<float>(), zs.as<float>(), tb, tk, 1.f / ttau, loss.as<float>(),
                                         zs.as<float>(), 0);
        }, 3, 20, 0);
        const double gb = 5.0 * n * 4 / (ms * 1e-3) / 1e9;   // reads zt, zs twice, writes diff once
        std::printf("compress_loss_rows B=%d K=%d in place: %.1f us, %.0f GB/s (%.0f%% of %.0f)\n", tb, tk, ms * 1e3, gb,
                    100 * gb / peaks.gbps, peaks.gbps);
    }
    std::printf("%s (%d failures)\n", g_failures ? "SOME CHECKS FAILED" : "ALL CHECKS PASSED", g_failures);
    return g_failures ? 1 : 0;
}
