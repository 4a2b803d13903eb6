// JNI declarations of the loss-engine kernels in libcompress_native.so (engine-native/src/jni_loss.cpp,
// kernels/*.cu). Device pointers and streams cross as long; each int result is a cudaError_t for
// Native.check(KERNEL, ...). bankType: 0 = F32 banks, 1 = BF16 banks. Nothing here synchronises.
package org.compress.engine.backend.cuda;

public final class LossKernels {
    private LossKernels() {}

    /** Bytes of workspace compressLossFused needs for these sizes on the current device. */
    public static native long compressLossWorkspaceBytes(int b, int k, int dt, int ds, int bankType);

    /**
     * Fused CompRess loss + gradient. teacher B x Dt and student B x Ds (F32, normalised), banks K x Dt / K x Ds.
     * Writes lossPerQuery[B], lossMean[1] (mean over B) and gradStudent[B x Ds] = (ps - pt) Qs / (tau B).
     */
    public static native int compressLossFused(long teacher, long student, long teacherBank, long studentBank, int bankType,
            int b, int k, int dt, int ds, float invTau, long lossPerQuery, long lossMean, long gradStudent,
            long workspace, long workspaceBytes, long stream);

    /**
     * Unfused middle step: zt, zs are B x K F32 raw dot products (not divided by tau). Writes lossPerQuery[B] and
     * diff[B x K] = (ps - pt) / (tau B); diff may alias zs.
     */
    public static native int compressLossRows(long zt, long zs, int b, int k, float invTau, long lossPerQuery, long diff,
            long stream);

    /** Bytes of workspace infoNceFused needs. */
    public static native long infoNceWorkspaceBytes(int b, int k, int d, int bankType);

    /**
     * Fused MoCo v2 InfoNCE: logits [q.k+, q.bank_j] / tau, cross-entropy with target 0. Writes lossPerQuery[B],
     * lossMean[1] and gradQ[B x D] = sum_j (softmax_ij - [j == 0]) key_j / (tau B).
     */
    public static native int infoNceFused(long q, long kpos, long bank, int bankType, int b, int k, int d, float invTau,
            long lossPerQuery, long lossMean, long gradQ, long workspace, long workspaceBytes, long stream);

    /**
     * Unfused InfoNCE rows: logits B x (K+1) F32 raw dot products, column 0 the positive. Writes lossPerQuery[B] and
     * diff[B x (K+1)] = (softmax - onehot0) / (tau B); diff may alias logits.
     */
    public static native int infoNceRows(long logits, int b, int kPlus1, float invTau, long lossPerQuery, long diff,
            long stream);

    /** out[0] = mean of x[0..n), summed in a fixed order. */
    public static native int meanF32(long x, int n, long out, long stream);

    /** bank row (start + i) % K = keys[i] for i < B (keys F32, converted to the bank's type); B <= K. */
    public static native int enqueue(long bank, int bankType, int k, int d, long keys, int b, int start, long stream);

    /** out[0] (device int32) = number of NaN/Inf among x[0..n). */
    public static native int countNonFinite(long x, long n, long out, long stream);
}
