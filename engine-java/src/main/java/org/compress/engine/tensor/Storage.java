// A block of memory that tensors view: host arrays (CpuStorage) or device memory (cuda.DeviceBuffer).
package org.compress.engine.tensor;

public interface Storage extends AutoCloseable {
    Device device();

    long bytes();

    boolean isClosed();

    @Override void close();
}
