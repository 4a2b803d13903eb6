// cuBLAS GEMM (cublasGemmEx) for row-major tensors: a row-major C = op(A) op(B) is the column-major
// C^T = op(B)^T op(A)^T, so we pass B first. FP32 uses CUBLAS_COMPUTE_32F (no tensor-core rounding),
// TF32 uses CUBLAS_COMPUTE_32F_FAST_TF32, BF16 takes bf16 A/B with fp32 accumulation.
package org.compress.engine.backend.cuda;

import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.FloatPointer;
import org.compress.engine.ops.GemmOp;
import org.compress.engine.ops.GemmPrecision;
import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

final class CudaGemm implements GemmOp {
    private final CudaBackend cuda;
    // Host scalars read by cuBLAS during the call (pointer mode host), allocated once.
    private final FloatPointer alphaHost = new FloatPointer(1);
    private final FloatPointer betaHost = new FloatPointer(1);

    CudaGemm(CudaBackend cuda) { this.cuda = cuda; }

    @Override
    public synchronized void gemm(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c,
                                  GemmPrecision precision) {
        int[] mnk = GemmOp.check(transA, transB, a, b, c, precision);
        Checks.contiguous("gemm A", a);
        Checks.contiguous("gemm B", b);
        Checks.contiguous("gemm C", c);
        int m = mnk[0], n = mnk[1], k = mnk[2];
        if (m == 0 || n == 0) return;
        alphaHost.put(0, alpha);
        betaHost.put(0, beta);
        int inType = precision == GemmPrecision.BF16 ? cudart.CUDA_R_16BF : cudart.CUDA_R_32F;
        int outType = c.dtype() == DType.BF16 ? cudart.CUDA_R_16BF : cudart.CUDA_R_32F;
        int compute = precision == GemmPrecision.TF32 ? cublas.CUBLAS_COMPUTE_32F_FAST_TF32 : cublas.CUBLAS_COMPUTE_32F;
        int status = cublas.cublasGemmEx(cuda.cublas(),
                transB ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N,
                transA ? cublas.CUBLAS_OP_T : cublas.CUBLAS_OP_N,
                n, m, k, alphaHost,
                cuda.pointer(b), inType, b.dim(1),
                cuda.pointer(a), inType, a.dim(1),
                betaHost, cuda.pointer(c), outType, n,
                compute, cublas.CUBLAS_GEMM_DEFAULT);
        Native.check(Native.Library.CUBLAS, status, "cublasGemmEx(" + precision + ", m=" + m + ", n=" + n + ", k=" + k + ")");
    }
}
