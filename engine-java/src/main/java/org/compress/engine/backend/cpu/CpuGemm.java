// CPU reference GEMM: double accumulation, so it is the oracle for every GPU precision.
// BF16 inputs are widened exactly; TF32 is treated as FP32 here (the reference has no reduced precision).
package org.compress.engine.backend.cpu;

import org.compress.engine.backend.HostData;
import org.compress.engine.ops.GemmOp;
import org.compress.engine.ops.GemmPrecision;
import org.compress.engine.tensor.BFloat16;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

final class CpuGemm implements GemmOp {
    @Override
    public void gemm(boolean transA, boolean transB, float alpha, Tensor a, Tensor b, float beta, Tensor c, GemmPrecision precision) {
        int[] mnk = GemmOp.check(transA, transB, a, b, c, precision);
        int m = mnk[0], n = mnk[1], k = mnk[2];
        float[] av = HostData.toFloats(a);
        float[] bv = HostData.toFloats(b);
        float[] cv = HostData.toFloats(c);
        int lda = a.dim(1), ldb = b.dim(1);
        float[] out = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int p = 0; p < k; p++) {
                    float x = transA ? av[p * lda + i] : av[i * lda + p];
                    float y = transB ? bv[j * ldb + p] : bv[p * ldb + j];
                    acc += (double) x * y;
                }
                double prior = beta == 0f ? 0.0 : (double) beta * cv[i * n + j]; // beta = 0 ignores NaN in C, like BLAS
                out[i * n + j] = (float) (alpha * acc + prior);
            }
        }
        int off = (int) c.offset();
        if (c.dtype() == DType.F32) {
            System.arraycopy(out, 0, c.cpuStorage().f32(), off, out.length);
        } else {
            short[] dst = c.cpuStorage().u16();
            for (int i = 0; i < out.length; i++) dst[off + i] = BFloat16.fromFloat(out[i]);
        }
    }
}
