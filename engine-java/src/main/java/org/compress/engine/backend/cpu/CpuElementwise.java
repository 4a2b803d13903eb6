// CPU reference for fill / copy / cast / scale / axpy: plain loops over the host arrays.
package org.compress.engine.backend.cpu;

import org.compress.engine.ops.ElementwiseOps;
import org.compress.engine.tensor.BFloat16;
import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.CpuStorage;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Float16;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

final class CpuElementwise implements ElementwiseOps {
    @Override public void fill(Tensor t, float value) {
        CpuStorage s = t.cpuStorage();
        int off = (int) t.offset();
        int n = (int) t.numel();
        switch (t.dtype()) {
            case F32 -> java.util.Arrays.fill(s.f32(), off, off + n, value);
            case BF16 -> java.util.Arrays.fill(s.u16(), off, off + n, BFloat16.fromFloat(value));
            case F16 -> java.util.Arrays.fill(s.u16(), off, off + n, Float16.fromFloat(value));
            case I32 -> java.util.Arrays.fill(s.i32(), off, off + n, (int) value);
            case I64 -> java.util.Arrays.fill(s.i64(), off, off + n, (long) value);
            case U8 -> java.util.Arrays.fill(s.u8(), off, off + n, (byte) value);
        }
    }

    @Override public void copy(Tensor src, Tensor dst) {
        if (src.dtype() != dst.dtype() || src.numel() != dst.numel()) {
            throw new ShapeMismatchException("copy: expected the same dtype and element count, found " + src + " -> " + dst);
        }
        CpuStorage a = src.cpuStorage();
        CpuStorage b = dst.cpuStorage();
        int so = (int) src.offset();
        int d0 = (int) dst.offset();
        int n = (int) src.numel();
        switch (src.dtype()) {
            case F32 -> System.arraycopy(a.f32(), so, b.f32(), d0, n);
            case BF16, F16 -> System.arraycopy(a.u16(), so, b.u16(), d0, n);
            case I32 -> System.arraycopy(a.i32(), so, b.i32(), d0, n);
            case I64 -> System.arraycopy(a.i64(), so, b.i64(), d0, n);
            case U8 -> System.arraycopy(a.u8(), so, b.u8(), d0, n);
        }
    }

    @Override public void cast(Tensor src, Tensor dst) {
        Checks.dtype("cast src", src, DType.F32, DType.BF16, DType.F16);
        Checks.dtype("cast dst", dst, DType.F32, DType.BF16, DType.F16);
        Checks.sameShape("cast", src, dst);
        if (src.dtype() == dst.dtype()) {
            copy(src, dst);
            return;
        }
        int n = (int) src.numel();
        int so = (int) src.offset();
        int d0 = (int) dst.offset();
        CpuStorage a = src.cpuStorage();
        CpuStorage b = dst.cpuStorage();
        for (int i = 0; i < n; i++) {
            float v = switch (src.dtype()) {
                case F32 -> a.f32()[so + i];
                case BF16 -> BFloat16.toFloat(a.u16()[so + i]);
                default -> Float16.toFloat(a.u16()[so + i]);
            };
            switch (dst.dtype()) {
                case F32 -> b.f32()[d0 + i] = v;
                case BF16 -> b.u16()[d0 + i] = BFloat16.fromFloat(v);
                default -> b.u16()[d0 + i] = Float16.fromFloat(v);
            }
        }
    }

    @Override public void scale(Tensor x, float alpha) {
        Checks.dtype("scale x", x, DType.F32);
        float[] a = x.cpuStorage().f32();
        int off = (int) x.offset();
        for (int i = 0; i < x.numel(); i++) a[off + i] *= alpha;
    }

    @Override public void axpy(float alpha, Tensor x, Tensor y) {
        Checks.dtype("axpy x", x, DType.F32, DType.BF16);
        Checks.dtype("axpy y (the dtype of x)", y, x.dtype());
        Checks.sameShape("axpy", x, y);
        CpuFloats.View xv = CpuFloats.of(x), yv = CpuFloats.of(y);
        float[] xa = xv.a(), ya = yv.a();
        int xo = xv.off(), yo = yv.off();
        for (int i = 0; i < x.numel(); i++) ya[yo + i] += alpha * xa[xo + i];
        yv.commit();
    }

    @Override public long countNonFinite(Tensor x) {
        Checks.dtype("countNonFinite x", x, DType.F32);
        float[] a = x.cpuStorage().f32();
        int off = (int) x.offset();
        long count = 0;
        for (int i = 0; i < x.numel(); i++) if (!Float.isFinite(a[off + i])) count++;
        return count;
    }

    @Override public void gatherRows(Tensor table, int[] indices, Tensor out) {
        ElementwiseOps.checkGather(table, indices, out);
        int d = table.dim(1);
        float[] src = table.cpuStorage().f32(), dst = out.cpuStorage().f32();
        int so = (int) table.offset(), oo = (int) out.offset();
        for (int i = 0; i < indices.length; i++) System.arraycopy(src, so + indices[i] * d, dst, oo + i * d, d);
    }
}
