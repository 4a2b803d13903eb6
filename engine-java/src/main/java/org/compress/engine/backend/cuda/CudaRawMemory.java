// cudaMalloc / cudaFree for the caching allocator.
package org.compress.engine.backend.cuda;

import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.bytedeco.cuda.global.cudart;

final class CudaRawMemory implements RawDeviceMemory {
    private final String name;

    CudaRawMemory(String name) { this.name = name; }

    @Override public long allocate(long bytes) {
        Pointer p = new Pointer();
        int status = cudart.cudaMalloc(p, bytes);
        if (status == cudart.cudaErrorMemoryAllocation) {
            cudart.cudaGetLastError(); // clear the sticky-free error so later calls do not report it
            return 0;
        }
        Native.check(Native.Library.CUDA, status, "cudaMalloc(" + bytes + ")");
        return p.address();
    }

    @Override public void free(long address) {
        Native.check(Native.Library.CUDA, cudart.cudaFree(DevicePointers.at(address)), "cudaFree");
    }

    @Override public long[] memoryInfo() {
        try (SizeTPointer free = new SizeTPointer(1); SizeTPointer total = new SizeTPointer(1)) {
            Native.check(Native.Library.CUDA, cudart.cudaMemGetInfo(free, total), "cudaMemGetInfo");
            return new long[] {free.get(), total.get()};
        }
    }

    @Override public String deviceName() { return name; }
}
