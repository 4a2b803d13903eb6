// A CUDA event for ordering streams and timing (elapsed milliseconds between two recorded events).
package org.compress.engine.backend.cuda;

import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.global.cudart;

public final class CudaEvent implements AutoCloseable {
    private final CUevent_st event = new CUevent_st();
    private boolean closed;

    public CudaEvent() {
        Native.check(Native.Library.CUDA, cudart.cudaEventCreate(event), "cudaEventCreate");
    }

    CUevent_st handle() { return event; }

    public void record(CudaStream stream) {
        Native.check(Native.Library.CUDA, cudart.cudaEventRecord(event, stream.handle()), "cudaEventRecord");
    }

    public void synchronize() {
        Native.check(Native.Library.CUDA, cudart.cudaEventSynchronize(event), "cudaEventSynchronize");
    }

    /** Milliseconds from {@code start} to this event; both must have completed. */
    public float elapsedMillisSince(CudaEvent start) {
        float[] ms = {0f};
        Native.check(Native.Library.CUDA, cudart.cudaEventElapsedTime(ms, start.event, event), "cudaEventElapsedTime");
        return ms[0];
    }

    @Override public void close() {
        if (closed) return;
        closed = true;
        Native.check(Native.Library.CUDA, cudart.cudaEventDestroy(event), "cudaEventDestroy");
    }
}
