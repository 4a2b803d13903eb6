// A block of device memory from the CachingAllocator; closing it returns the block to the allocator's cache.
package org.compress.engine.backend.cuda;

import org.compress.engine.tensor.Device;
import org.compress.engine.tensor.Storage;

public final class DeviceBuffer implements Storage {
    private final CachingAllocator owner;
    private final Device device;
    private final long address;
    private final long bytes;
    private final long blockSize;
    private boolean closed;

    DeviceBuffer(CachingAllocator owner, Device device, long address, long bytes, long blockSize) {
        this.owner = owner;
        this.device = device;
        this.address = address;
        this.bytes = bytes;
        this.blockSize = blockSize;
    }

    public long address() {
        if (closed) throw new IllegalStateException("device buffer used after close()");
        return address;
    }

    long blockSize() { return blockSize; }

    /** The address without the use-after-close check, for the allocator's bookkeeping. */
    long rawAddress() { return address; }

    @Override public Device device() { return device; }

    @Override public long bytes() { return bytes; }

    @Override public boolean isClosed() { return closed; }

    @Override public void close() {
        if (closed) return;
        closed = true;
        owner.release(this);
    }
}
