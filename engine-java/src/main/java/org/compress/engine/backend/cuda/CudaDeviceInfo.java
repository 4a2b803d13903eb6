// What one GPU is: name, memory, compute capability, SM count.
package org.compress.engine.backend.cuda;

public record CudaDeviceInfo(int index, String name, long totalMemoryBytes, int major, int minor, int multiprocessors) {
    public String computeCapability() { return major + "." + minor; }
}
