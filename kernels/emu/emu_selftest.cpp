// The emulator's own checks on small kernels written to break a rule: each runs in a child process that must stop
// with the emulator's message (exit 3), or must give the value CUDA defines. Also the fragment semantics of
// ldmatrix and mma.sync on exact small-integer data, and cp.async's poison until the wait.
//   emu_selftest   (exit 0: every check behaved)
#include "emu_control.h"
#include "loss_device.cuh"
#include "launch.cuh"

#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace ld = compress::loss_detail;

__global__ void divergent_barrier(float* out) {
    if (threadIdx.x < 16) return;
    __syncthreads();
    out[threadIdx.x] = 1.f;
}
__global__ void shuffle_with_exited_lane(float* out) {
    if (threadIdx.x == 5) return;
    out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, (float)threadIdx.x, 1);
}
__global__ void shuffle_mask_without_caller(float* out) {
    out[threadIdx.x] = __shfl_xor_sync(0x0000ffffu, (float)threadIdx.x, 1);
}
__global__ void shared_overrun(float* out, int n) {
    COMPRESS_DYNAMIC_SHARED(float, s);
    s[n + threadIdx.x] = 1.f;   // n floats were requested
    out[0] = s[0];
}
__global__ void global_overrun(float* out, int n) { out[n + threadIdx.x] = 2.f; }
__global__ void barrier_against_collective(float* out) {
    if (threadIdx.x < 16) out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1.f, 1);
    else __syncthreads();
}
// Commits an empty group, then copies 4 floats per thread with cp.async into shared memory as the newest group,
// waits until at most `wait_n` groups are outstanding, and reads them back.
__global__ void cp_async_then_read(const float* src, float* out, int wait_n) {
    COMPRESS_DYNAMIC_SHARED(__align__(16) float, s);
    ld::cp_async_commit();
    ld::cp_async16(s + 4 * threadIdx.x, src + 4 * threadIdx.x, 16);
    ld::cp_async_commit();
    if (wait_n == 0) ld::cp_async_wait<0>();
    else ld::cp_async_wait<1>();
    for (int i = 0; i < 4; ++i) out[4 * threadIdx.x + i] = s[4 * threadIdx.x + i];
}
// One warp: D = A B (16x16 BF16 times 16x8 BF16) through ldmatrix (A [row][k], B as [n][k]) and mma.sync.
__global__ void mma_bf16_tile(const uint16_t* a, const uint16_t* b, float* d) {
    __shared__ __align__(16) uint16_t sa[16 * 16], sb[16 * 16];
    for (int i = threadIdx.x; i < 256; i += 32) sa[i] = a[i], sb[i] = b[i];
    __syncthreads();
    const int lane = threadIdx.x;
    uint32_t fa[4], fb[4];
    ld::ldsm_x4(fa, sa + ld::ldsm_a_row(lane) * 16 + ld::ldsm_a_col(lane));
    ld::ldsm_x4(fb, sb + ld::ldsm_b_row(lane) * 16 + ld::ldsm_b_col(lane));
    float c0[4] = {0, 0, 0, 0}, c1[4] = {0, 0, 0, 0};
    ld::mma_bf16(c0, fa, fb[0], fb[1]);   // n 0..7
    ld::mma_bf16(c1, fa, fb[2], fb[3]);   // n 8..15
    for (int i = 0; i < 4; ++i) {
        d[ld::acc_row(lane, i) * 16 + ld::acc_col(lane, i)] = c0[i];
        d[ld::acc_row(lane, i) * 16 + 8 + ld::acc_col(lane, i)] = c1[i];
    }
}
// One warp: D = A B (16x8 TF32 times 8x8) from registers in the PTX fragment layout, operands not rounded first.
__global__ void mma_tf32_tile(const float* a, const float* b, float* d) {
    const int g = threadIdx.x >> 2, t = threadIdx.x & 3;
    const uint32_t fa[4] = {__float_as_uint(a[g * 8 + t]), __float_as_uint(a[(g + 8) * 8 + t]),
                            __float_as_uint(a[g * 8 + t + 4]), __float_as_uint(a[(g + 8) * 8 + t + 4])};
    float c[4] = {0, 0, 0, 0};
    ld::mma_tf32(c, fa, __float_as_uint(b[t * 8 + g]), __float_as_uint(b[(t + 4) * 8 + g]));
    for (int i = 0; i < 4; ++i) d[ld::acc_row(threadIdx.x, i) * 8 + ld::acc_col(threadIdx.x, i)] = c[i];
}

namespace {
int failures = 0, checks = 0;

// Runs body in a child; it must exit 3 with `expect` in its stderr.
void expect_stop(const char* what, const char* expect, const std::function<void()>& body) {
    ++checks;
    int pipefd[2];
    if (pipe(pipefd) != 0) { std::perror("pipe"); std::exit(2); }
    std::fflush(stdout);
    const pid_t pid = fork();
    if (pid == 0) {
        close(pipefd[0]);
        dup2(pipefd[1], 2);
        body();
        cudaDeviceSynchronize();
        _exit(0);
    }
    close(pipefd[1]);
    std::string err;
    char buf[512];
    ssize_t n;
    while ((n = read(pipefd[0], buf, sizeof buf)) > 0) err.append(buf, (size_t)n);
    close(pipefd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 3 && err.find(expect) != std::string::npos;
    std::printf("%s %s: %s", ok ? "ok  " : "FAIL", what, err.empty() ? "(no message)\n" : err.c_str());
    if (!ok) ++failures;
}

void expect(bool cond, const char* what) {
    ++checks;
    std::printf("%s %s\n", cond ? "ok  " : "FAIL", what);
    if (!cond) ++failures;
}

uint16_t bf(float x) { uint32_t u; std::memcpy(&u, &x, 4); return (uint16_t)(u >> 16); }   // exact for small ints
}  // namespace

int main() {
    emu::set_device(132, 166912);
    float* out = nullptr;
    cudaMalloc((void**)&out, 64 * 4);
    expect_stop("a __syncthreads that half the block never reaches", "not reached by every thread",
                [&] { COMPRESS_LAUNCH(divergent_barrier, 1, 32, 0, nullptr)(out); });
    expect_stop("a full-mask shuffle after lane 5 returned", "lane 5 of the mask has exited",
                [&] { COMPRESS_LAUNCH(shuffle_with_exited_lane, 1, 32, 0, nullptr)(out); });
    expect_stop("a shuffle whose mask omits the calling lane", "does not name the calling lane",
                [&] { COMPRESS_LAUNCH(shuffle_mask_without_caller, 1, 32, 0, nullptr)(out); });
    expect_stop("a write past the end of dynamic shared memory", "invalid memory access",
                [&] { COMPRESS_LAUNCH(shared_overrun, 1, 32, 16 * 4, nullptr)(out, 16); });
    expect_stop("a write past the end of a cudaMalloc buffer", "invalid memory access",
                [&] { COMPRESS_LAUNCH(global_overrun, 1, 32, 0, nullptr)(out, 64); });
    expect_stop("half a warp in a full-mask shuffle, the other half at __syncthreads", "16 in warp collectives",
                [&] { COMPRESS_LAUNCH(barrier_against_collective, 1, 32, 0, nullptr)(out); });

    // Dynamic shared memory above 48 KB needs cudaFuncSetAttribute first, as on the GPU.
    COMPRESS_LAUNCH(shared_overrun, 1, 32, 64 * 1024, nullptr)(out, 0);
    expect(cudaGetLastError() == cudaErrorInvalidValue, "a launch with 64 KB of dynamic shared memory and no opt-in is refused");

    {   // cp.async: waiting for all groups gives the data; leaving the copy's group outstanding reads NaN poison.
        std::vector<float> host(128);
        for (int i = 0; i < 128; ++i) host[i] = (float)i;
        float *src = nullptr, *dst = nullptr;
        cudaMalloc((void**)&src, 128 * 4);
        cudaMalloc((void**)&dst, 128 * 4);
        cudaMemcpy(src, host.data(), 128 * 4, cudaMemcpyHostToDevice);
        std::vector<float> got(128);
        COMPRESS_LAUNCH(cp_async_then_read, 1, 32, 128 * 4, nullptr)(src, dst, 0);
        cudaMemcpy(got.data(), dst, 128 * 4, cudaMemcpyDeviceToHost);
        expect(got == host, "cp.async data after wait_group 0");
        COMPRESS_LAUNCH(cp_async_then_read, 1, 32, 128 * 4, nullptr)(src, dst, 1);
        cudaMemcpy(got.data(), dst, 128 * 4, cudaMemcpyDeviceToHost);
        bool all_nan = true;
        for (float v : got) all_nan = all_nan && std::isnan(v);
        expect(all_nan, "cp.async destination is poison (NaN) while its group is outstanding (wait_group 1)");
    }
    {   // ldmatrix + mma.sync BF16 on small integers: exact, equals the plain product.
        std::vector<float> a(256), b(256);   // b as [n][k]
        for (int i = 0; i < 256; ++i) a[i] = (float)((i * 7) % 11 - 5), b[i] = (float)((i * 5) % 9 - 4);
        std::vector<uint16_t> a16(256), b16(256);
        for (int i = 0; i < 256; ++i) a16[i] = bf(a[i]), b16[i] = bf(b[i]);
        uint16_t *da, *db;
        float* dd;
        cudaMalloc((void**)&da, 512); cudaMalloc((void**)&db, 512); cudaMalloc((void**)&dd, 1024);
        cudaMemcpy(da, a16.data(), 512, cudaMemcpyHostToDevice);
        cudaMemcpy(db, b16.data(), 512, cudaMemcpyHostToDevice);
        COMPRESS_LAUNCH(mma_bf16_tile, 1, 32, 0, nullptr)(da, db, dd);
        std::vector<float> d(256);
        cudaMemcpy(d.data(), dd, 1024, cudaMemcpyDeviceToHost);
        bool same = true;
        for (int r = 0; r < 16; ++r)
            for (int n = 0; n < 16; ++n) {
                float s = 0;
                for (int k = 0; k < 16; ++k) s += a[r * 16 + k] * b[n * 16 + k];
                same = same && s == d[r * 16 + n];
            }
        expect(same, "ldmatrix.x4 + mma.sync.m16n8k16 BF16 equal the matrix product (PTX fragment layouts)");
    }
    {   // TF32: the tensor core ignores the low 13 mantissa bits of an unrounded operand.
        std::vector<float> a(128, 0.f), b(64, 0.f);
        const float x = 1.f + 0x1p-12f;   // not a TF32 value: read as 1.0
        a[0] = x;
        b[0] = 1.f;
        float *da, *db, *dd;
        cudaMalloc((void**)&da, 512); cudaMalloc((void**)&db, 256); cudaMalloc((void**)&dd, 512);
        cudaMemcpy(da, a.data(), 512, cudaMemcpyHostToDevice);
        cudaMemcpy(db, b.data(), 256, cudaMemcpyHostToDevice);
        COMPRESS_LAUNCH(mma_tf32_tile, 1, 32, 0, nullptr)(da, db, dd);
        float d0 = 0;
        cudaMemcpy(&d0, dd, 4, cudaMemcpyDeviceToHost);
        expect(d0 == 1.f, "mma.sync TF32 reads 1 + 2^-12 as 1 (operand truncated like the tensor core)");
        expect(ld::tf32_round(x) == 1.f && ld::tf32_round(1.f + 0x1p-11f) == 1.f + 0x1p-10f,
               "cvt.rna.tf32 rounds to nearest, ties away from zero");
    }
    std::printf("emulator self-test: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
