// Host storage backed by one plain Java array per dtype; the CPU backend's loops read these arrays directly.
// BF16 and F16 hold raw 16-bit patterns in a short[]; use BFloat16 / Float.float16ToFloat to read them.
package org.compress.engine.tensor;

public final class CpuStorage implements Storage {
    private final DType dtype;
    private long elements;
    private float[] f32;
    private short[] u16;
    private int[] i32;
    private long[] i64;
    private byte[] u8;
    private boolean closed;

    public CpuStorage(DType dtype, long elements) {
        if (elements > Integer.MAX_VALUE - 8) {
            throw new ShapeMismatchException("CPU tensors hold at most " + (Integer.MAX_VALUE - 8)
                    + " elements (one Java array); requested " + elements);
        }
        this.dtype = dtype;
        this.elements = elements;
        int n = (int) elements;
        switch (dtype) {
            case F32 -> f32 = new float[n];
            case BF16, F16 -> u16 = new short[n];
            case I32 -> i32 = new int[n];
            case I64 -> i64 = new long[n];
            case U8 -> u8 = new byte[n];
        }
    }

    /** Wraps an existing array without copying. */
    public static CpuStorage wrap(float[] data) {
        CpuStorage s = new CpuStorage(DType.F32, 0);
        s.f32 = data;
        s.elements = data.length;
        return s;
    }

    public DType dtype() { return dtype; }

    public long elements() { return elements; }

    public float[] f32() { return need(f32, DType.F32); }

    public short[] u16() { return need(u16, dtype == DType.F16 ? DType.F16 : DType.BF16); }

    public int[] i32() { return need(i32, DType.I32); }

    public long[] i64() { return need(i64, DType.I64); }

    public byte[] u8() { return need(u8, DType.U8); }

    private <T> T need(T array, DType wanted) {
        if (closed) throw new IllegalStateException("CPU storage used after close()");
        if (array == null) {
            throw new ShapeMismatchException("storage holds " + dtype + ", asked for " + wanted + " data");
        }
        return array;
    }

    @Override public Device device() { return Device.CPU; }

    @Override public long bytes() { return elements * dtype.bytes(); }

    @Override public boolean isClosed() { return closed; }

    @Override public void close() {
        closed = true;
        f32 = null;
        u16 = null;
        i32 = null;
        i64 = null;
        u8 = null;
    }
}
