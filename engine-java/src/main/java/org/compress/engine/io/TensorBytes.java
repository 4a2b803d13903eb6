// Little-endian element bytes <-> CPU tensors, shared by the safetensors reader/writer and the PyTorch reader.
// Both formats store row-major (C order) elements in little-endian byte order.
package org.compress.engine.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.compress.engine.tensor.CpuStorage;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;

final class TensorBytes {
    private TensorBytes() {}

    /** Reads {@code count} elements from {@code src} (from its position, little-endian) into dst[dstStart ...]. */
    static void decodeInto(ByteBuffer src, Tensor dst, int dstStart, int count) {
        ByteBuffer le = src.slice().order(ByteOrder.LITTLE_ENDIAN);
        CpuStorage s = dst.cpuStorage();
        int at = (int) dst.offset() + dstStart;
        switch (dst.dtype()) {
            case F32 -> le.asFloatBuffer().get(s.f32(), at, count);
            case BF16, F16 -> le.asShortBuffer().get(s.u16(), at, count);
            case I32 -> le.asIntBuffer().get(s.i32(), at, count);
            case I64 -> le.asLongBuffer().get(s.i64(), at, count);
            case U8 -> le.get(s.u8(), at, count);
        }
    }

    /**
     * Materialises a strided view of a storage as a new contiguous tensor: logical element (i0, ..., ik) is
     * storage element {@code offset + sum(i_j * stride_j)}. Callers have checked that every index is inside.
     */
    static Tensor gather(ByteBuffer storage, DType dtype, int[] shape, long[] stride, long offset) {
        Tensor out = Tensor.cpuZeros(dtype, shape);
        int n = (int) out.numel();
        if (n == 0) return out;
        if (isContiguous(shape, stride)) {
            decodeInto(storage.duplicate().position(Math.toIntExact(offset * dtype.bytes())), out, 0, n);
            return out;
        }
        ByteBuffer le = storage.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        CpuStorage s = out.cpuStorage();
        int[] index = new int[shape.length];
        long at = offset;
        int size = dtype.bytes();
        for (int i = 0; i < n; i++) {
            int b = Math.toIntExact(at * size);
            switch (dtype) {
                case F32 -> s.f32()[i] = le.getFloat(b);
                case BF16, F16 -> s.u16()[i] = le.getShort(b);
                case I32 -> s.i32()[i] = le.getInt(b);
                case I64 -> s.i64()[i] = le.getLong(b);
                case U8 -> s.u8()[i] = le.get(b);
            }
            // Odometer over the logical index, keeping the storage position in step.
            for (int d = shape.length - 1; d >= 0; d--) {
                if (++index[d] < shape[d]) {
                    at += stride[d];
                    break;
                }
                at -= (long) (shape[d] - 1) * stride[d];
                index[d] = 0;
            }
        }
        return out;
    }

    /** Row-major strides: a view with these reads its elements in storage order. Size-1 dims may have any stride. */
    static boolean isContiguous(int[] shape, long[] stride) {
        long expected = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            if (shape[d] != 1 && stride[d] != expected) return false;
            expected *= shape[d];
        }
        return true;
    }

    /**
     * Writes logical elements [start, start + count) of a CPU tensor, in row-major NCHW order whatever its memory
     * format, little-endian at {@code out}'s position, and advances it.
     */
    static void encode(Tensor t, long start, int count, ByteBuffer out) {
        CpuStorage s = t.cpuStorage();
        ByteBuffer le = out.slice().order(ByteOrder.LITTLE_ENDIAN);
        int base = (int) t.offset();
        if (t.format() == MemoryFormat.CONTIGUOUS) {
            int at = base + (int) start;
            switch (t.dtype()) {
                case F32 -> le.asFloatBuffer().put(s.f32(), at, count);
                case BF16, F16 -> le.asShortBuffer().put(s.u16(), at, count);
                case I32 -> le.asIntBuffer().put(s.i32(), at, count);
                case I64 -> le.asLongBuffer().put(s.i64(), at, count);
                case U8 -> le.put(s.u8(), at, count);
            }
        } else {
            // CHANNELS_LAST keeps (n, h, w, c) in storage; the file holds the logical (n, c, h, w) order.
            int c = t.dim(1), h = t.dim(2), w = t.dim(3);
            for (int k = 0; k < count; k++) {
                long i = start + k;
                int x = (int) (i % w), y = (int) (i / w % h), ch = (int) (i / ((long) w * h) % c), n = (int) (i / ((long) w * h * c));
                int at = base + (int) ((((long) n * h + y) * w + x) * c + ch);
                switch (t.dtype()) {
                    case F32 -> le.putFloat(s.f32()[at]);
                    case BF16, F16 -> le.putShort(s.u16()[at]);
                    case I32 -> le.putInt(s.i32()[at]);
                    case I64 -> le.putLong(s.i64()[at]);
                    case U8 -> le.put(s.u8()[at]);
                }
            }
        }
        out.position(out.position() + count * t.dtype().bytes());
    }
}
