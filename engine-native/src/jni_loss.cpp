// JNI entry points of LossKernels (kernels/loss_fused.cu, kernels/loss_rows.cu): check the arguments with messages
// that carry the sizes, launch, map the status. Nothing here synchronises.
#include <cmath>
#include <cstdarg>
#include "jni_common.h"
#include "loss_kernels.cuh"

using namespace compress;

namespace {

// Records a formatted reason for NativeKernels.lastErrorWhere and returns the status as the JNI result.
jint fail(cudaError_t status, int line, const char* fmt, ...) {
    char what[400];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(what, sizeof what, fmt, args);
    va_end(args);
    compress_jni::set_where(__FILE__, line, what);
    return (jint)status;
}

bool tau_ok(float inv_tau) { return inv_tau > 0.f && std::isfinite(inv_tau); }
bool aligned16(jlong p) { return (p & 15) == 0; }

}  // namespace

#define FAIL(status, ...) return fail(status, __LINE__, __VA_ARGS__)

// Sizes the fused kernels accept; the same checks for the workspace query and the launch.
#define CHECK_FUSED_SIZES(kind, b, k, dt, ds, bankType, FAIL_WITH)                                              \
    do {                                                                                                         \
        if ((bankType) != kBankF32 && (bankType) != kBankBF16)                                                  \
            FAIL_WITH(cudaErrorInvalidValue, "bankType must be 0 (F32) or 1 (BF16), found %d", (int)(bankType)); \
        if ((b) < 1 || (k) < 1 || (dt) < 1 || (ds) < 1)                                                         \
            FAIL_WITH(cudaErrorInvalidValue, kind ": sizes must be >= 1, found B=%d K=%d Dt=%d Ds=%d", (int)(b), \
                      (int)(k), (int)(dt), (int)(ds));                                                           \
        if ((dt) > kFusedMaxDim || (ds) > kFusedMaxDim)                                                         \
            FAIL_WITH(cudaErrorNotSupported,                                                                     \
                      kind ": the fused kernel supports embedding dims <= %d, found Dt=%d Ds=%d; use the "       \
                      "unfused path (GEMM + *Rows)", kFusedMaxDim, (int)(dt), (int)(ds));                        \
    } while (0)

#define FAIL_LONG(status, ...)                                          \
    do {                                                                \
        fail(status, __LINE__, __VA_ARGS__);                            \
        return (jlong)-1;                                               \
    } while (0)

COMPRESS_LOSS_JNI(jlong, compressLossWorkspaceBytes)(JNIEnv*, jclass, jint b, jint k, jint dt, jint ds,
                                                     jint bankType) {
    CHECK_FUSED_SIZES("compressLossWorkspaceBytes", b, k, dt, ds, bankType, FAIL_LONG);
    cudaError_t status = cudaSuccess;
    const int64_t bytes = compress_loss_workspace_bytes(b, k, dt, ds, bankType, &status);
    if (bytes < 0) FAIL_LONG(status, "compress_loss_workspace_bytes: %s", cudaGetErrorString(status));
    return (jlong)bytes;
}

COMPRESS_LOSS_JNI(jint, compressLossFused)(JNIEnv*, jclass, jlong teacher, jlong student, jlong teacherBank,
                                           jlong studentBank, jint bankType, jint b, jint k, jint dt, jint ds,
                                           jfloat invTau, jlong lossPerQuery, jlong lossMean, jlong gradStudent,
                                           jlong workspace, jlong workspaceBytes, jlong stream) {
    REQUIRE(teacher != 0 && student != 0 && teacherBank != 0 && studentBank != 0);
    REQUIRE(lossPerQuery != 0 && lossMean != 0 && gradStudent != 0 && workspace != 0);
    REQUIRE(aligned16(workspace));
    CHECK_FUSED_SIZES("compressLossFused", b, k, dt, ds, bankType, FAIL);
    if (!tau_ok(invTau)) FAIL(cudaErrorInvalidValue, "compressLossFused: invTau must be finite and > 0, found %g",
                              (double)invTau);
    if (teacherBank == studentBank && dt != ds)
        FAIL(cudaErrorInvalidValue, "compressLossFused: one shared bank (1q) needs Dt == Ds, found Dt=%d Ds=%d", dt,
             ds);
    cudaError_t status = cudaSuccess;
    const int64_t need = compress_loss_workspace_bytes(b, k, dt, ds, bankType, &status);
    if (need < 0) FAIL(status, "compress_loss_workspace_bytes: %s", cudaGetErrorString(status));
    if (workspaceBytes < need)
        FAIL(cudaErrorInvalidValue, "compressLossFused: workspace too small: need %lld bytes for B=%d K=%d Ds=%d, found %lld",
             (long long)need, b, k, ds, (long long)workspaceBytes);
    RETURN_IF_ERROR(compress_loss_fused(dev<const float>(teacher), dev<const float>(student),
                                        dev<const void>(teacherBank), dev<const void>(studentBank), bankType, b, k, dt,
                                        ds, invTau, dev<float>(lossPerQuery), dev<float>(lossMean),
                                        dev<float>(gradStudent), dev<void>(workspace), (size_t)workspaceBytes,
                                        stream_of(stream)));
    return 0;
}

COMPRESS_LOSS_JNI(jint, compressLossRows)(JNIEnv*, jclass, jlong zt, jlong zs, jint b, jint k, jfloat invTau,
                                          jlong lossPerQuery, jlong diff, jlong stream) {
    REQUIRE(zt != 0 && zs != 0 && lossPerQuery != 0 && diff != 0);
    if (b < 1 || k < 1) FAIL(cudaErrorInvalidValue, "compressLossRows: sizes must be >= 1, found B=%d K=%d", b, k);
    if (!tau_ok(invTau)) FAIL(cudaErrorInvalidValue, "compressLossRows: invTau must be finite and > 0, found %g",
                              (double)invTau);
    RETURN_IF_ERROR(compress_loss_rows(dev<const float>(zt), dev<const float>(zs), b, k, invTau,
                                       dev<float>(lossPerQuery), dev<float>(diff), stream_of(stream)));
    return 0;
}

COMPRESS_LOSS_JNI(jlong, infoNceWorkspaceBytes)(JNIEnv*, jclass, jint b, jint k, jint d, jint bankType) {
    CHECK_FUSED_SIZES("infoNceWorkspaceBytes", b, k, d, d, bankType, FAIL_LONG);
    cudaError_t status = cudaSuccess;
    const int64_t bytes = infonce_workspace_bytes(b, k, d, bankType, &status);
    if (bytes < 0) FAIL_LONG(status, "infonce_workspace_bytes: %s", cudaGetErrorString(status));
    return (jlong)bytes;
}

COMPRESS_LOSS_JNI(jint, infoNceFused)(JNIEnv*, jclass, jlong q, jlong kpos, jlong bank, jint bankType, jint b, jint k,
                                      jint d, jfloat invTau, jlong lossPerQuery, jlong lossMean, jlong gradQ,
                                      jlong workspace, jlong workspaceBytes, jlong stream) {
    REQUIRE(q != 0 && kpos != 0 && bank != 0);
    REQUIRE(lossPerQuery != 0 && lossMean != 0 && gradQ != 0 && workspace != 0);
    REQUIRE(aligned16(workspace));
    CHECK_FUSED_SIZES("infoNceFused", b, k, d, d, bankType, FAIL);
    if (!tau_ok(invTau)) FAIL(cudaErrorInvalidValue, "infoNceFused: invTau must be finite and > 0, found %g",
                              (double)invTau);
    cudaError_t status = cudaSuccess;
    const int64_t need = infonce_workspace_bytes(b, k, d, bankType, &status);
    if (need < 0) FAIL(status, "infonce_workspace_bytes: %s", cudaGetErrorString(status));
    if (workspaceBytes < need)
        FAIL(cudaErrorInvalidValue, "infoNceFused: workspace too small: need %lld bytes for B=%d K=%d D=%d, found %lld",
             (long long)need, b, k, d, (long long)workspaceBytes);
    RETURN_IF_ERROR(infonce_fused(dev<const float>(q), dev<const float>(kpos), dev<const void>(bank), bankType, b, k,
                                  d, invTau, dev<float>(lossPerQuery), dev<float>(lossMean), dev<float>(gradQ),
                                  dev<void>(workspace), (size_t)workspaceBytes, stream_of(stream)));
    return 0;
}

COMPRESS_LOSS_JNI(jint, infoNceRows)(JNIEnv*, jclass, jlong logits, jint b, jint kPlus1, jfloat invTau,
                                     jlong lossPerQuery, jlong diff, jlong stream) {
    REQUIRE(logits != 0 && lossPerQuery != 0 && diff != 0);
    if (b < 1 || kPlus1 < 1)
        FAIL(cudaErrorInvalidValue, "infoNceRows: sizes must be >= 1, found B=%d K+1=%d", b, kPlus1);
    if (!tau_ok(invTau)) FAIL(cudaErrorInvalidValue, "infoNceRows: invTau must be finite and > 0, found %g",
                              (double)invTau);
    RETURN_IF_ERROR(infonce_rows(dev<const float>(logits), b, kPlus1, invTau, dev<float>(lossPerQuery),
                                 dev<float>(diff), stream_of(stream)));
    return 0;
}

COMPRESS_LOSS_JNI(jint, meanF32)(JNIEnv*, jclass, jlong x, jint n, jlong out, jlong stream) {
    REQUIRE(x != 0 && out != 0);
    if (n < 1) FAIL(cudaErrorInvalidValue, "meanF32: n must be >= 1, found %d", n);
    RETURN_IF_ERROR(mean_f32(dev<const float>(x), n, dev<float>(out), stream_of(stream)));
    return 0;
}

COMPRESS_LOSS_JNI(jint, enqueue)(JNIEnv*, jclass, jlong bank, jint bankType, jint k, jint d, jlong keys, jint b,
                                 jint start, jlong stream) {
    REQUIRE(bank != 0 && keys != 0);
    if (bankType != kBankF32 && bankType != kBankBF16)
        FAIL(cudaErrorInvalidValue, "enqueue: bankType must be 0 (F32) or 1 (BF16), found %d", bankType);
    if (k < 1 || d < 1 || b < 0)
        FAIL(cudaErrorInvalidValue, "enqueue: need K >= 1, D >= 1, B >= 0, found K=%d D=%d B=%d", k, d, b);
    if (b > k) FAIL(cudaErrorInvalidValue, "enqueue: B must be <= K (one write per row), found B=%d K=%d", b, k);
    if (start < 0 || start >= k)
        FAIL(cudaErrorInvalidValue, "enqueue: start must be in [0, K), found start=%d K=%d", start, k);
    RETURN_IF_ERROR(bank_enqueue(dev<void>(bank), bankType, k, d, dev<const float>(keys), b, start, stream_of(stream)));
    return 0;
}

COMPRESS_LOSS_JNI(jint, countNonFinite)(JNIEnv*, jclass, jlong x, jlong n, jlong out, jlong stream) {
    REQUIRE(out != 0 && n >= 0 && (n == 0 || x != 0));
    RETURN_IF_ERROR(count_non_finite(dev<const float>(x), n, dev<int>(out), stream_of(stream)));
    return 0;
}
