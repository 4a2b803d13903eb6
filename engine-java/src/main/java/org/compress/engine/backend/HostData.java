// Reading and writing host tensors as plain float arrays, whatever their floating dtype.
package org.compress.engine.backend;

import org.compress.engine.tensor.BFloat16;
import org.compress.engine.tensor.CpuStorage;
import org.compress.engine.tensor.Float16;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public final class HostData {
    private HostData() {}

    public static float[] toFloats(Tensor host) {
        CpuStorage s = host.cpuStorage();
        int off = (int) host.offset();
        int n = (int) host.numel();
        float[] out = new float[n];
        switch (host.dtype()) {
            case F32 -> System.arraycopy(s.f32(), off, out, 0, n);
            case BF16 -> { short[] a = s.u16(); for (int i = 0; i < n; i++) out[i] = BFloat16.toFloat(a[off + i]); }
            case F16 -> { short[] a = s.u16(); for (int i = 0; i < n; i++) out[i] = Float16.toFloat(a[off + i]); }
            case I32 -> { int[] a = s.i32(); for (int i = 0; i < n; i++) out[i] = a[off + i]; }
            case I64 -> { long[] a = s.i64(); for (int i = 0; i < n; i++) out[i] = a[off + i]; }
            case U8 -> { byte[] a = s.u8(); for (int i = 0; i < n; i++) out[i] = a[off + i] & 0xff; }
            default -> throw new ShapeMismatchException("cannot read " + host + " as floats");
        }
        return out;
    }
}
