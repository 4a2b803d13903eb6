// An n-d array on one device: shape, dtype, memory format, and a view (offset) into a Storage.
// Views (reshape, rows) share the storage without copying and do not own it: closing a view is a no-op,
// closing the tensor that created the storage releases it (back to the caching allocator on CUDA).
package org.compress.engine.tensor;

import java.util.Arrays;

public final class Tensor implements AutoCloseable {
    private final Storage storage;
    private final long offset;          // in elements
    private final int[] shape;
    private final DType dtype;
    private final MemoryFormat format;
    private final boolean ownsStorage;

    public Tensor(Storage storage, long offset, DType dtype, MemoryFormat format, int[] shape, boolean ownsStorage) {
        this.storage = storage;
        this.offset = offset;
        this.dtype = dtype;
        this.format = format;
        this.shape = shape.clone();
        this.ownsStorage = ownsStorage;
        for (int d : shape) {
            if (d < 0) throw new ShapeMismatchException("negative dimension in shape " + Arrays.toString(shape));
        }
        if (format == MemoryFormat.CHANNELS_LAST && shape.length != 4) {
            throw new ShapeMismatchException("CHANNELS_LAST needs a 4-d (N, C, H, W) shape, found " + Arrays.toString(shape));
        }
        long needed = (offset + numel()) * dtype.bytes();
        if (needed > storage.bytes()) {
            throw new ShapeMismatchException("view of " + needed + " bytes does not fit a storage of " + storage.bytes());
        }
    }

    /** A new host tensor holding a copy-free wrap of {@code data}. */
    public static Tensor cpu(float[] data, int... shape) {
        if (numel(shape) != data.length) {
            throw new ShapeMismatchException("shape " + Arrays.toString(shape) + " holds " + numel(shape)
                    + " elements, data has " + data.length);
        }
        return new Tensor(CpuStorage.wrap(data), 0, DType.F32, MemoryFormat.CONTIGUOUS, shape, true);
    }

    /** A new zero-filled host tensor. */
    public static Tensor cpuZeros(DType dtype, int... shape) {
        return new Tensor(new CpuStorage(dtype, numel(shape)), 0, dtype, MemoryFormat.CONTIGUOUS, shape, true);
    }

    public static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    public Storage storage() { return storage; }

    public long offset() { return offset; }

    public int[] shape() { return shape.clone(); }

    public int dim(int i) { return shape[i < 0 ? shape.length + i : i]; }

    public int rank() { return shape.length; }

    public long numel() { return numel(shape); }

    public long bytes() { return numel() * dtype.bytes(); }

    public DType dtype() { return dtype; }

    public MemoryFormat format() { return format; }

    public Device device() { return storage.device(); }

    /** Host arrays of a CPU tensor (index with {@link #offset()}). */
    public CpuStorage cpuStorage() {
        if (!(storage instanceof CpuStorage c)) {
            throw new ShapeMismatchException("expected a CPU tensor, found one on " + device());
        }
        return c;
    }

    /** The same elements seen with another shape of the same element count (no copy). */
    public Tensor reshape(int... newShape) {
        if (numel(newShape) != numel()) {
            throw new ShapeMismatchException("cannot reshape " + Arrays.toString(shape) + " (" + numel()
                    + " elements) to " + Arrays.toString(newShape) + " (" + numel(newShape) + ")");
        }
        return new Tensor(storage, offset, dtype, MemoryFormat.CONTIGUOUS, newShape, false);
    }

    /** Rows [start, start + count) along the first dimension (no copy). */
    public Tensor rows(int start, int count) {
        if (rank() == 0 || start < 0 || count < 0 || start + (long) count > shape[0]) {
            throw new ShapeMismatchException("rows(" + start + ", " + count + ") out of range for shape "
                    + Arrays.toString(shape));
        }
        if (format != MemoryFormat.CONTIGUOUS) {
            throw new ShapeMismatchException("rows() needs a CONTIGUOUS tensor, found " + format);
        }
        int[] s = shape.clone();
        s[0] = count;
        long rowElements = shape[0] == 0 ? 0 : numel() / shape[0];
        return new Tensor(storage, offset + start * rowElements, dtype, format, s, false);
    }

    /** Product of all dimensions but the first: the length of one row. */
    public int rowLength() {
        if (rank() == 0) return 1;
        return (int) (numel() / Math.max(1, shape[0]));
    }

    public boolean sameShape(Tensor other) { return Arrays.equals(shape, other.shape); }

    @Override public void close() {
        if (ownsStorage && !storage.isClosed()) storage.close();
    }

    @Override public String toString() {
        return "Tensor" + Arrays.toString(shape) + " " + dtype + (format == MemoryFormat.CHANNELS_LAST ? " channels_last" : "")
                + " on " + device();
    }
}
