// Float views of host tensors for the CPU ops, so one loop serves F32 and BF16: an F32 tensor is used in place;
// a BF16 tensor is widened (exactly) into a float copy, and an output written through a view is rounded to
// BF16 once, on commit (round to nearest even). A BF16 op is thus the F32 op on the same values with its
// result rounded once: the points where the GPU's bf16 kernels and cuDNN's bf16 outputs round too.
package org.compress.engine.backend.cpu;

import org.compress.engine.tensor.BFloat16;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

final class CpuFloats {
    private CpuFloats() {}

    /** Elements of `tensor` as floats: a[off + i] is element i in storage order. */
    record View(Tensor tensor, float[] a, int off) {
        /** Writes the view back into a BF16 tensor (rounding); nothing to do for F32, which was written in place. */
        void commit() {
            if (tensor.dtype() != DType.BF16) return;
            short[] dst = tensor.cpuStorage().u16();
            int o = (int) tensor.offset();
            for (int i = 0; i < a.length; i++) dst[o + i] = BFloat16.fromFloat(a[i]);
        }
    }

    /** For reading (and for read-modify-write, followed by commit()). */
    static View of(Tensor t) {
        return switch (t.dtype()) {
            case F32 -> new View(t, t.cpuStorage().f32(), (int) t.offset());
            case BF16 -> {
                short[] src = t.cpuStorage().u16();
                int o = (int) t.offset(), n = (int) t.numel();
                float[] a = new float[n];
                for (int i = 0; i < n; i++) a[i] = BFloat16.toFloat(src[o + i]);
                yield new View(t, a, 0);
            }
            default -> throw new ShapeMismatchException("expected an F32 or BF16 tensor, found " + t);
        };
    }

    /** For an output that the op overwrites completely: no widening of the old contents. Call commit() after. */
    static View output(Tensor t) {
        if (t.dtype() == DType.BF16) return new View(t, new float[(int) t.numel()], 0);
        return of(t);
    }
}
