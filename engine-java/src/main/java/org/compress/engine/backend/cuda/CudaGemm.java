// cuBLAS GEMM (cublasGemmEx) for row-major tensors: a row-major C = op(A) op(B) is the column-major
// C^T = op(B)^T op(A)^T (see RowMajorBlas). FP32 uses CUBLAS_COMPUTE_32F (no tensor-core rounding),
// TF32 uses CUBLAS_COMPUTE_32F_FAST_TF32, BF16 takes bf16 A/B with fp32 accumulation.
package org.compress.engine.backend.cuda;

import org.compress.engine.ops.GemmOp;
import org.compress.engine.ops.GemmPrecision;
import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

final class CudaGemm implements GemmOp {
    private final CudaBackend cuda;

    CudaGemm(CudaBackend cuda) { this.cuda = cuda; }

    @Override
    public void gemm(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c,
                     GemmPrecision precision) {
        int[] mnk = GemmOp.check(transA, transB, a, b, c, precision);
        Checks.contiguous("gemm A", a);
        Checks.contiguous("gemm B", b);
        Checks.contiguous("gemm C", c);
        cuda.blas().gemm(transA, transB, mnk[0], mnk[1], mnk[2], alpha, operand(a), operand(b), beta, operand(c),
                precision, "gemm");
    }

    RowMajorBlas.Operand operand(Tensor t) {
        long address = cuda.address(t);
        return t.dtype() == DType.BF16 ? RowMajorBlas.Operand.bf16(address, t.dim(1)) : RowMajorBlas.Operand.f32(address, t.dim(1));
    }
}
