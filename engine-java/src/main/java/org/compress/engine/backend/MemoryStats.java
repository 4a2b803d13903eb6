// Allocator statistics: bytes handed out now, the peak of that, bytes held in the cache, and how many
// real allocations (cudaMalloc) were made. A steady training step leaves rawAllocations unchanged.
package org.compress.engine.backend;

public record MemoryStats(long bytesInUse, long peakBytesInUse, long bytesCached, long rawAllocations, long rawFrees) {
    public static final MemoryStats NONE = new MemoryStats(0, 0, 0, 0, 0);
}
