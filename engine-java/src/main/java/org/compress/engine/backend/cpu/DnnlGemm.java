// Fast CPU GEMM: oneDNN's sgemm (row-major, threaded over the native pool) for F32 operands at FP32 or TF32
// precision (TF32 is FP32 on the CPU, as in the reference); BF16 goes to the reference GEMM.
package org.compress.engine.backend.cpu;

import org.compress.engine.ops.GemmOp;
import org.compress.engine.ops.GemmPrecision;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

final class DnnlGemm implements GemmOp {
    private final GemmOp reference;

    DnnlGemm(GemmOp reference) { this.reference = reference; }

    @Override
    public void gemm(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c, GemmPrecision precision) {
        int[] mnk = GemmOp.check(transA, transB, a, b, c, precision);
        if (a.dtype() != DType.F32 || b.dtype() != DType.F32 || c.dtype() != DType.F32) {
            reference.gemm(transA, transB, alpha, a, b, beta, c, precision);
            return;
        }
        DnnlNative.sgemm(transA, transB, mnk[0], mnk[1], mnk[2], alpha, a.cpuStorage().f32(), (int) a.offset(), a.dim(1),
                b.cpuStorage().f32(), (int) b.offset(), b.dim(1), beta, c.cpuStorage().f32(), (int) c.offset(), c.dim(1));
    }
}
