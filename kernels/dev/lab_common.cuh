// Shared plumbing of the kernel lab (kernels/dev): error checks, seeded data, host rounding to the tensor-core
// operand types, command-line flags, cudaEvent timing, device peak numbers, error statistics.
#pragma once
#include <cuda_runtime.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#define CUDA_CHECK(expr)                                                                                  \
    do {                                                                                                  \
        cudaError_t e_ = (expr);                                                                          \
        if (e_ != cudaSuccess) {                                                                          \
            std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr, cudaGetErrorString(e_)); \
            std::exit(2);                                                                                 \
        }                                                                                                 \
    } while (0)

namespace lab {

// splitmix64: small, seedable, the same on every platform.
struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
    uint64_t next() {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    double uniform() { return (next() >> 11) * (1.0 / 9007199254740992.0); }   // [0, 1)
    double normal() {
        const double u1 = uniform() + 1e-300, u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    }
};

inline uint32_t bits_of(float x) { uint32_t u; std::memcpy(&u, &x, 4); return u; }
inline float float_of(uint32_t u) { float x; std::memcpy(&x, &u, 4); return x; }

// BF16, round to nearest even (what __float2bfloat16_rn and the bank enqueue do).
inline uint16_t bf16_bits(float x) {
    uint32_t u = bits_of(x);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) return (uint16_t)((u >> 16) | 0x40);   // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}
inline float bf16_value(uint16_t b) { return float_of((uint32_t)b << 16); }
inline float round_bf16(float x) { return bf16_value(bf16_bits(x)); }
// TF32 as cvt.rna.tf32.f32: nearest, ties away from zero, low 13 mantissa bits cleared.
inline float round_tf32(float x) {
    uint32_t u = bits_of(x);
    if ((u & 0x7f800000u) == 0x7f800000u) return x;
    u += 0x1000u;
    u &= 0xffffe000u;
    return float_of(u);
}

// --name value / --flag command-line options after the positional arguments.
struct Args {
    std::vector<std::string> pos;
    std::vector<std::pair<std::string, std::string>> opt;
    Args(int argc, char** argv) {
        for (int i = 1; i < argc; ++i) {
            std::string a = argv[i];
            if (a.rfind("--", 0) == 0) {
                std::string v;
                const bool takes_value = i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0 &&
                                         a != "--1q" && a != "--2q" && a != "--raw" && a != "--no-timing" &&
                                         a != "--no-check";
                if (takes_value) v = argv[++i];
                opt.emplace_back(a, v);
            } else {
                pos.push_back(a);
            }
        }
    }
    bool has(const std::string& name) const {
        for (auto& o : opt) if (o.first == name) return true;
        return false;
    }
    long get(const std::string& name, long fallback) const {
        for (auto& o : opt) if (o.first == name && !o.second.empty()) return std::strtol(o.second.c_str(), nullptr, 10);
        return fallback;
    }
    std::string positional(size_t i, const std::string& fallback) const { return i < pos.size() ? pos[i] : fallback; }
};

// Dense tensor-core peaks and memory bandwidth. Named GPUs use the datasheet numbers (H100 = SXM), others an
// estimate from the SM count and clocks (marked as such).
struct Peaks {
    std::string name;
    double bf16_tflops, tf32_tflops, gbps;
    bool estimated;
};
inline Peaks device_peaks() {
    int dev = 0;
    CUDA_CHECK(cudaGetDevice(&dev));
    cudaDeviceProp p{};
    CUDA_CHECK(cudaGetDeviceProperties(&p, dev));
    Peaks k{p.name, 0, 0, 0, false};
    const std::string n = p.name;
    if (n.find("H100") != std::string::npos) { k.bf16_tflops = 989; k.tf32_tflops = 495; k.gbps = 3350; return k; }
    if (n.find("H200") != std::string::npos) { k.bf16_tflops = 989; k.tf32_tflops = 495; k.gbps = 4800; return k; }
    if (n.find("A100") != std::string::npos) {
        k.bf16_tflops = 312; k.tf32_tflops = 156;
        k.gbps = p.totalGlobalMem > (60ull << 30) ? 2039 : 1555;
        return k;
    }
    int clock_khz = 0, mem_khz = 0, bus_bits = 0;
    cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, dev);
    cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, dev);
    cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, dev);
    const double per_sm_clk = p.major >= 9 ? 4096.0 : 2048.0;   // dense BF16 FLOP per SM per clock
    k.bf16_tflops = p.multiProcessorCount * per_sm_clk * clock_khz * 1e3 / 1e12;
    k.tf32_tflops = k.bf16_tflops / 2;
    k.gbps = 2.0 * mem_khz * 1e3 * (bus_bits / 8.0) / 1e9;
    k.estimated = true;
    return k;
}

// Median time (ms) of `reps` runs of fn() on `stream` after `warmup` runs.
template <class Fn>
double median_ms(Fn&& fn, int warmup, int reps, cudaStream_t stream) {
    for (int i = 0; i < warmup; ++i) fn();
    CUDA_CHECK(cudaStreamSynchronize(stream));
    cudaEvent_t a, b;
    CUDA_CHECK(cudaEventCreate(&a));
    CUDA_CHECK(cudaEventCreate(&b));
    std::vector<float> t(reps);
    for (int i = 0; i < reps; ++i) {
        CUDA_CHECK(cudaEventRecord(a, stream));
        fn();
        CUDA_CHECK(cudaEventRecord(b, stream));
        CUDA_CHECK(cudaEventSynchronize(b));
        CUDA_CHECK(cudaEventElapsedTime(&t[i], a, b));
    }
    CUDA_CHECK(cudaEventDestroy(a));
    CUDA_CHECK(cudaEventDestroy(b));
    std::sort(t.begin(), t.end());
    return t[reps / 2];
}

// Worst |got - ref| / tol[i] over an array (tol per element), with where it happened.
struct Check {
    double worst_ratio = 0, err_at_worst = 0, tol_at_worst = 0, ref_at_worst = 0, got_at_worst = 0;
    double max_abs = 0, max_rel = 0;
    long at = -1;
    long non_finite = 0;
    bool ok() const { return non_finite == 0 && worst_ratio <= 1.0; }
};
inline Check check_close(const float* got, const double* ref, const double* tol, size_t n) {
    Check c;
    for (size_t i = 0; i < n; ++i) {
        if (!std::isfinite(got[i])) { ++c.non_finite; if (c.at < 0) c.at = (long)i; continue; }
        const double err = std::fabs((double)got[i] - ref[i]);
        c.max_abs = std::max(c.max_abs, err);
        if (std::fabs(ref[i]) > 1e-30) c.max_rel = std::max(c.max_rel, err / std::fabs(ref[i]));
        const double r = err / tol[i];
        if (r > c.worst_ratio || c.at < 0) {
            c.worst_ratio = r; c.err_at_worst = err; c.tol_at_worst = tol[i];
            c.ref_at_worst = ref[i]; c.got_at_worst = got[i]; c.at = (long)i;
        }
    }
    return c;
}
inline void print_check(const char* what, const Check& c) {
    std::printf("    %-6s max abs %.3e  max rel %.3e  worst %.1f%% of tol at [%ld] (got %.9g ref %.9g tol %.2e)%s\n",
                what, c.max_abs, c.max_rel, 100.0 * c.worst_ratio, c.at, c.got_at_worst, c.ref_at_worst,
                c.tol_at_worst, c.non_finite ? "  NON-FINITE VALUES" : "");
    if (c.non_finite) std::printf("    %-6s %ld non-finite values (first at [%ld])\n", what, c.non_finite, c.at);
}

// Device buffer filled with 0xFF bytes (NaN as F32), so an element a kernel forgets to write shows up.
struct DeviceBuffer {
    void* p = nullptr;
    size_t bytes = 0;
    explicit DeviceBuffer(size_t n) : bytes(n) {
        CUDA_CHECK(cudaMalloc(&p, n ? n : 16));
        poison();
    }
    ~DeviceBuffer() { cudaFree(p); }
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    void poison() { CUDA_CHECK(cudaMemset(p, 0xFF, bytes ? bytes : 16)); }
    template <class T> T* as() const { return static_cast<T*>(p); }
    void upload(const void* src, size_t n) { CUDA_CHECK(cudaMemcpy(p, src, n, cudaMemcpyHostToDevice)); }
    template <class T> std::vector<T> download(size_t count) const {
        std::vector<T> v(count);
        CUDA_CHECK(cudaMemcpy(v.data(), p, count * sizeof(T), cudaMemcpyDeviceToHost));
        return v;
    }
};

}  // namespace lab
