// The allocator's source of real device memory (cudaMalloc/cudaFree in production, a fake in tests).
package org.compress.engine.backend.cuda;

public interface RawDeviceMemory {
    /** Returns a device address, or 0 when the device is out of memory. Other failures throw. */
    long allocate(long bytes);

    void free(long address);

    /** {free, total} bytes on the device. */
    long[] memoryInfo();

    String deviceName();
}
