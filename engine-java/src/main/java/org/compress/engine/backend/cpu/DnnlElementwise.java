// Fast CPU elementwise ops: axpy (the residual gradient's add, 13 % of a width-16 ResNet-18 train step when it was
// plain Java; CpuStepProfile) runs natively over the OpenMP pool for F32; everything else, and BF16, is the plain-Java
// reference, CpuElementwise.
package org.compress.engine.backend.cpu;

import org.compress.engine.ops.ElementwiseOps;
import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

final class DnnlElementwise implements ElementwiseOps {
    private final ElementwiseOps reference;

    DnnlElementwise(ElementwiseOps reference) { this.reference = reference; }

    @Override public void fill(Tensor t, float value) { reference.fill(t, value); }

    @Override public void copy(Tensor src, Tensor dst) { reference.copy(src, dst); }

    @Override public void cast(Tensor src, Tensor dst) { reference.cast(src, dst); }

    @Override public void scale(Tensor x, float alpha) { reference.scale(x, alpha); }

    @Override public void axpy(float alpha, Tensor x, Tensor y) {
        if (x.dtype() != DType.F32 || y.dtype() != DType.F32) {
            reference.axpy(alpha, x, y);
            return;
        }
        Checks.sameShape("axpy", x, y);
        DnnlNative.axpy(x.numel(), alpha, x.cpuStorage().f32(), (int) x.offset(), y.cpuStorage().f32(), (int) y.offset());
    }

    @Override public long countNonFinite(Tensor x) { return reference.countNonFinite(x); }

    @Override public void gatherRows(Tensor table, int[] indices, Tensor out) { reference.gatherRows(table, indices, out); }
}
