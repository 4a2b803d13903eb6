// Row-major GEMM: C (M x N) = alpha * op(A) * op(B) + beta * C, op = identity or transpose.
// A is (M x K) or, transposed, (K x M); B is (K x N) or (N x K). C is F32 or BF16.
package org.compress.engine.ops;

import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public interface GemmOp {
    void gemm(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c, GemmPrecision precision);

    /** Shape checks shared by every backend; returns {M, N, K}. */
    static int[] check(boolean transA, boolean transB, Tensor a, Tensor b, Tensor c, GemmPrecision precision) {
        Checks.rank("gemm A", a, 2);
        Checks.rank("gemm B", b, 2);
        Checks.rank("gemm C", c, 2);
        Checks.dtype("gemm A (" + precision + ")", a, precision.inputType());
        Checks.dtype("gemm B (" + precision + ")", b, precision.inputType());
        if (precision == GemmPrecision.BF16) Checks.dtype("gemm C (BF16)", c, DType.F32, DType.BF16);
        else Checks.dtype("gemm C (" + precision + "; a BF16 output needs BF16 inputs)", c, DType.F32);
        int m = transA ? a.dim(1) : a.dim(0);
        int k = transA ? a.dim(0) : a.dim(1);
        int kb = transB ? b.dim(1) : b.dim(0);
        int n = transB ? b.dim(0) : b.dim(1);
        if (k != kb) {
            throw new ShapeMismatchException("gemm: inner dimensions differ: op(A) is " + m + "x" + k + ", op(B) is " + kb + "x" + n);
        }
        Checks.shape("gemm C", c, m, n);
        return new int[] {m, n, k};
    }
}
