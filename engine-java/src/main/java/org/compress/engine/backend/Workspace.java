// Typed, 256-byte-aligned views carved from one preallocated byte buffer, so an op's temporaries cost no
// allocation per call. Views live as long as the buffer; take() after reset() reuses the same bytes.
package org.compress.engine.backend;

import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public final class Workspace {
    public static final int ALIGN = 256;

    private final Tensor bytes;
    private long used;

    public Workspace(Tensor bytes) {
        if (bytes.dtype() != DType.U8 || bytes.offset() != 0) {
            throw new ShapeMismatchException("workspace: expected a whole U8 tensor, found " + bytes);
        }
        this.bytes = bytes;
    }

    /** A U8 tensor of at least {@code bytes} (2-d past 2^31 bytes, since dimensions are ints). */
    public static Tensor allocate(Backend backend, long bytes) {
        if (bytes <= Integer.MAX_VALUE - 8) return backend.empty(DType.U8, (int) Math.max(bytes, 1));
        int row = 1 << 20;
        return backend.empty(DType.U8, Math.toIntExact((bytes + row - 1) / row), row);
    }

    public static long aligned(long n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }

    /** Total bytes for a sequence of (dtype, element count) requests, with alignment. */
    public static long sizeOf(Object... dtypeAndCount) {
        long total = 0;
        for (int i = 0; i < dtypeAndCount.length; i += 2) {
            total += aligned(((DType) dtypeAndCount[i]).bytes() * ((Number) dtypeAndCount[i + 1]).longValue());
        }
        return total;
    }

    public Tensor take(DType dtype, int... shape) {
        long need = aligned(Tensor.numel(shape) * dtype.bytes());
        if (used + need > bytes.numel()) {
            throw new ShapeMismatchException("workspace of " + bytes.numel() + " bytes cannot fit another "
                    + need + " (" + used + " in use)");
        }
        Tensor view = new Tensor(bytes.storage(), used / dtype.bytes(), dtype, MemoryFormat.CONTIGUOUS, shape, false);
        used += need;
        return view;
    }

    public void reset() { used = 0; }
}
