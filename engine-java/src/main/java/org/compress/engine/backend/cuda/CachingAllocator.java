// Size-bucketed caching allocator for device memory (PyTorch's idea, simplified): released blocks go to a
// free list keyed by size and are reused, so a steady training step makes no cudaMalloc/cudaFree at all.
// Small requests round up to 512 B, large ones to 2 MiB; a large request may reuse a cached block up to
// 25% bigger. Reuse is safe because all engine work is ordered on the backend's one compute stream; memory
// touched by another stream must be synchronised with it (e.g. an event) before release.
// On out-of-memory the cache is returned to the device and the allocation retried once.
package org.compress.engine.backend.cuda;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.TreeMap;
import org.compress.engine.backend.MemoryStats;

public final class CachingAllocator implements AutoCloseable {
    static final long SMALL_LIMIT = 1L << 20;
    static final long SMALL_ROUND = 512;
    static final long LARGE_ROUND = 2L << 20;

    private final RawDeviceMemory raw;
    private final TreeMap<Long, ArrayDeque<Long>> freeBlocks = new TreeMap<>();
    private final org.compress.engine.tensor.Device device;
    private long bytesInUse;
    private long peakBytesInUse;
    private long bytesCached;
    private long rawAllocations;
    private long rawFrees;
    private boolean closed;

    public CachingAllocator(RawDeviceMemory raw, org.compress.engine.tensor.Device device) {
        this.raw = raw;
        this.device = device;
    }

    static long roundUp(long bytes) {
        long b = Math.max(bytes, 1);
        long unit = b < SMALL_LIMIT ? SMALL_ROUND : LARGE_ROUND;
        return (b + unit - 1) / unit * unit;
    }

    /** A block of at least {@code bytes}; release it with {@link DeviceBuffer#close()}. */
    public synchronized DeviceBuffer allocate(long bytes) {
        if (closed) throw new IllegalStateException("allocator for " + device + " is closed");
        if (bytes < 0) throw new IllegalArgumentException("allocate: expected bytes >= 0, found " + bytes);
        long size = roundUp(bytes);
        long blockSize = cachedBlockSize(size);
        long address;
        if (blockSize != 0) {
            address = take(blockSize);
        } else {
            blockSize = size;
            address = raw.allocate(size);
            if (address == 0) {
                releaseCache();
                address = raw.allocate(size);
            }
            if (address == 0) {
                long[] info = raw.memoryInfo();
                throw new DeviceOutOfMemoryException(device + " (" + raw.deviceName() + ")", bytes, info[0], info[1],
                        bytesInUse, bytesCached);
            }
            rawAllocations++;
        }
        bytesInUse += blockSize;
        peakBytesInUse = Math.max(peakBytesInUse, bytesInUse);
        return new DeviceBuffer(this, device, address, bytes, blockSize);
    }

    /** Size of the best cached block for a request of {@code size} rounded bytes, or 0 if none fits. */
    private long cachedBlockSize(long size) {
        long limit = size < SMALL_LIMIT ? size : size + size / 4;
        Long best = freeBlocks.ceilingKey(size);
        return best == null || best > limit ? 0 : best;
    }

    private long take(long blockSize) {
        ArrayDeque<Long> list = freeBlocks.get(blockSize);
        long address = list.pop();
        if (list.isEmpty()) freeBlocks.remove(blockSize);
        bytesCached -= blockSize;
        return address;
    }

    synchronized void release(DeviceBuffer block) {
        bytesInUse -= block.blockSize();
        if (closed) {
            raw.free(block.rawAddress());
            rawFrees++;
            return;
        }
        freeBlocks.computeIfAbsent(block.blockSize(), k -> new ArrayDeque<>()).push(block.rawAddress());
        bytesCached += block.blockSize();
    }

    /** Returns every cached (unused) block to the device. */
    public synchronized void releaseCache() {
        for (Map.Entry<Long, ArrayDeque<Long>> e : freeBlocks.entrySet()) {
            for (long address : e.getValue()) {
                raw.free(address);
                rawFrees++;
            }
        }
        freeBlocks.clear();
        bytesCached = 0;
    }

    public synchronized MemoryStats stats() {
        return new MemoryStats(bytesInUse, peakBytesInUse, bytesCached, rawAllocations, rawFrees);
    }

    public synchronized void resetPeak() { peakBytesInUse = bytesInUse; }

    /** Frees the cache; blocks still in use are freed when they are released. */
    @Override public synchronized void close() {
        releaseCache();
        closed = true;
    }
}
