// JNI declarations of the loss kernels in libcompress_native.so (kernels/loss_fused.cu, kernels/loss_rows.cu via
// engine-native/src/jni_loss.cpp). Device pointers and streams cross as long; nothing here synchronises.
// Methods returning int return a cudaError_t: pass it to Native.check(Native.Library.KERNEL, status, call), which
// adds the native reason (NativeKernels.lastErrorWhere). Load the library (NativeLibrary.load) before any call.
package org.compress.engine.backend.cuda;

public final class LossKernels {
    private LossKernels() {}

    /**
     * Bytes of workspace {@link #compressLossFused} needs for these sizes on the current device (the number of K
     * splits depends on the SM count, so ask on the device that will run it). The size does not depend on whether
     * the two banks are one (1q) or two (2q). About 15.8 MiB at B=256, K=128000, Ds=128 and never over 16 MiB
     * unless B x Ds alone needs more. Returns -1 for sizes the fused kernel does not take (Dt or Ds > 256: use the
     * unfused path; or any size < 1 or a bankType other than 0/1); then {@link NativeKernels#lastErrorWhere} says
     * why.
     */
    public static native long compressLossWorkspaceBytes(int b, int k, int dt, int ds, int bankType);

    /**
     * Fused CompRess loss and gradient: zt = T Qt^T / tau, zs = S Qs^T / tau, loss_i = KL(softmax zt_i || softmax
     * zs_i), dL/dS_i = sum_j (ps_ij - pt_ij) Qs_j / (tau B). teacher: B x Dt F32, student: B x Ds F32 (both rows
     * L2-normalised by the caller), teacherBank: K x Dt, studentBank: K x Ds, both of bankType (0 = F32 computed with
     * TF32 tensor cores, 1 = BF16 bits with BF16 tensor cores; FP32 accumulation and softmax). Passing the same
     * pointer for both banks (Dt == Ds) selects the 1q kernel, which reads the bank once. Writes lossPerQuery[B],
     * lossMean[1] (mean over B) and gradStudent[B x Ds], all F32. workspace: device memory of at least
     * {@link #compressLossWorkspaceBytes} bytes, 16-byte aligned, contents irrelevant. Results are bitwise
     * identical run to run on the same GPU model (fixed reduction order). Dt, Ds in [1, 256], else
     * cudaErrorNotSupported (801); B, K >= 1.
     */
    public static native int compressLossFused(long teacher, long student, long teacherBank, long studentBank,
            int bankType, int b, int k, int dt, int ds, float invTau, long lossPerQuery, long lossMean,
            long gradStudent, long workspace, long workspaceBytes, long stream);

    /**
     * Unfused CompRess middle step, one block per row. zt, zs: B x K F32 raw dot products (NOT divided by tau).
     * Writes lossPerQuery[B] and diff[B x K] = (ps - pt) / (tau B); diff may alias zs (in place).
     */
    public static native int compressLossRows(long zt, long zs, int b, int k, float invTau, long lossPerQuery,
            long diff, long stream);

    /**
     * Bytes of workspace {@link #infoNceFused} needs for these sizes on the current device; -1 (with
     * {@link NativeKernels#lastErrorWhere} set) when D > 256 or a size is invalid.
     */
    public static native long infoNceWorkspaceBytes(int b, int k, int d, int bankType);

    /**
     * Fused MoCo v2 InfoNCE: logits_i = [q_i . kpos_i, q_i . bank_0 .. q_i . bank_{K-1}] / tau, cross-entropy with
     * target 0. q, kpos: B x D F32 (normalised by the caller), bank: K x D of bankType. Writes lossPerQuery[B],
     * lossMean[1] and gradQ[B x D] = sum_j (softmax_ij - [j==0]) key_j / (tau B) with key_0 = kpos_i,
     * key_{j+1} = bank_j. The positive logit is computed in FP32, the bank logits on tensor cores as in
     * {@link #compressLossFused}. D in [1, 256], else cudaErrorNotSupported.
     */
    public static native int infoNceFused(long q, long kpos, long bank, int bankType, int b, int k, int d,
            float invTau, long lossPerQuery, long lossMean, long gradQ, long workspace, long workspaceBytes,
            long stream);

    /**
     * Unfused InfoNCE rows: logits B x (K+1) F32 raw dot products, column 0 the positive. Writes lossPerQuery[B]
     * and diff[B x (K+1)] = (softmax - onehot0) / (tau B); diff may alias logits.
     */
    public static native int infoNceRows(long logits, int b, int kPlus1, float invTau, long lossPerQuery, long diff,
            long stream);

    /** out[0] = mean of x[0..n) (F32, n >= 1), summed in double in a fixed order (deterministic). */
    public static native int meanF32(long x, int n, long out, long stream);

    /**
     * Ring-buffer enqueue in one kernel launch: bank row (start + i) % K = keys[i] for i in [0, B), keys B x D F32,
     * converted to the bank's type (BF16: round to nearest even); wraps around the end. Requires 0 <= B <= K and
     * 0 <= start < K.
     */
    public static native int enqueue(long bank, int bankType, int k, int d, long keys, int b, int start, long stream);

    /** out[0] (int32 on the device) = number of NaN/Inf among x[0..n) F32 (zeroes out[0] first, on the stream). */
    public static native int countNonFinite(long x, long n, long out, long stream);
}
