// A non-blocking CUDA stream owned by a scope.
package org.compress.engine.backend.cuda;

import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cudart;

public final class CudaStream implements AutoCloseable {
    private final CUstream_st stream = new CUstream_st();
    private boolean closed;

    public CudaStream() {
        Native.check(Native.Library.CUDA, cudart.cudaStreamCreateWithFlags(stream, cudart.cudaStreamNonBlocking),
                "cudaStreamCreateWithFlags");
    }

    public CUstream_st handle() { return stream; }

    /** The stream as the long our JNI kernels take. */
    public long address() { return stream.address(); }

    public void synchronize() {
        Native.check(Native.Library.CUDA, cudart.cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    }

    /** Makes future work on this stream wait for {@code event} (no host synchronisation). */
    public void waitFor(CudaEvent event) {
        Native.check(Native.Library.CUDA, cudart.cudaStreamWaitEvent(stream, event.handle(), 0), "cudaStreamWaitEvent");
    }

    @Override public void close() {
        if (closed) return;
        closed = true;
        Native.check(Native.Library.CUDA, cudart.cudaStreamDestroy(stream), "cudaStreamDestroy");
    }
}
