// Row-major GEMMs on cuBLAS with explicit leading dimensions and batch strides, for ops that work on
// views inside larger buffers (e.g. the logits columns after InfoNCE's positive). A row-major
// C (m x n, ldc) = op(A) op(B) is the column-major C^T = op(B)^T op(A)^T, so B goes first.
package org.compress.engine.backend.cuda;

import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.FloatPointer;
import org.compress.engine.ops.GemmPrecision;

final class RowMajorBlas {
    private final CudaBackend cuda;
    // Host scalars read by cuBLAS during the call (pointer mode host), allocated once.
    private final FloatPointer alphaHost = new FloatPointer(1);
    private final FloatPointer betaHost = new FloatPointer(1);

    RowMajorBlas(CudaBackend cuda) { this.cuda = cuda; }

    /** A matrix operand: device address, element type (CUDA_R_32F / CUDA_R_16BF), leading dimension, batch stride. */
    record Operand(long address, int type, int ld, long stride) {
        static Operand f32(long address, int ld) { return new Operand(address, cudart.CUDA_R_32F, ld, 0); }
        static Operand bf16(long address, int ld) { return new Operand(address, cudart.CUDA_R_16BF, ld, 0); }
        Operand strided(long s) { return new Operand(address, type, ld, s); }
    }

    static int computeType(GemmPrecision p) {
        return p == GemmPrecision.TF32 ? cublas.CUBLAS_COMPUTE_32F_FAST_TF32 : cublas.CUBLAS_COMPUTE_32F;
    }

    synchronized void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Operand a, Operand b,
                           float beta, Operand c, GemmPrecision precision, String what) {
        if (m == 0 || n == 0) return;
        alphaHost.put(0, alpha);
        betaHost.put(0, beta);
        int status = cublas.cublasGemmEx(cuda.cublas(),
                transB ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N, transA ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N,
                n, m, k, alphaHost,
                DevicePointers.at(b.address()), b.type(), b.ld(),
                DevicePointers.at(a.address()), a.type(), a.ld(),
                betaHost, DevicePointers.at(c.address()), c.type(), c.ld(),
                computeType(precision), cublas.CUBLAS_GEMM_DEFAULT);
        Native.check(Native.Library.CUBLAS, status, "cublasGemmEx(" + what + ", " + precision + ", m=" + m + ", n=" + n + ", k=" + k + ")");
    }

    synchronized void gemmBatched(boolean transA, boolean transB, int m, int n, int k, float alpha, Operand a, Operand b,
                                  float beta, Operand c, int batch, GemmPrecision precision, String what) {
        if (m == 0 || n == 0 || batch == 0) return;
        alphaHost.put(0, alpha);
        betaHost.put(0, beta);
        int status = cublas.cublasGemmStridedBatchedEx(cuda.cublas(),
                transB ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N, transA ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N,
                n, m, k, alphaHost,
                DevicePointers.at(b.address()), b.type(), b.ld(), b.stride(),
                DevicePointers.at(a.address()), a.type(), a.ld(), a.stride(),
                betaHost, DevicePointers.at(c.address()), c.type(), c.ld(), c.stride(),
                batch, computeType(precision), cublas.CUBLAS_GEMM_DEFAULT);
        Native.check(Native.Library.CUBLAS, status, "cublasGemmStridedBatchedEx(" + what + ", batch=" + batch + ")");
    }
}
