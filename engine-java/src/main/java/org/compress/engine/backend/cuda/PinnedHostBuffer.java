// Page-locked host memory (cudaMallocHost): the staging area for asynchronous host<->device copies.
package org.compress.engine.backend.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.cuda.global.cudart;

public final class PinnedHostBuffer implements AutoCloseable {
    private final Pointer pointer = new Pointer();
    private final long bytes;
    private final ByteBuffer view;
    private boolean closed;

    public PinnedHostBuffer(long bytes) {
        if (bytes < 1) throw new IllegalArgumentException("pinned buffer: expected bytes >= 1, found " + bytes);
        this.bytes = bytes;
        Native.check(Native.Library.CUDA, cudart.cudaMallocHost(pointer, bytes), "cudaMallocHost(" + bytes + ")");
        this.view = new BytePointer(pointer).capacity(bytes).asByteBuffer().order(ByteOrder.nativeOrder());
    }

    /** A native-order view of the whole buffer (write the data here, then copy it to the device). */
    public ByteBuffer buffer() {
        if (closed) throw new IllegalStateException("pinned buffer used after close()");
        return view;
    }

    public long address() { return pointer.address(); }

    public long bytes() { return bytes; }

    @Override public void close() {
        if (closed) return;
        closed = true;
        Native.check(Native.Library.CUDA, cudart.cudaFreeHost(pointer), "cudaFreeHost");
    }
}
