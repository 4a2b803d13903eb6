// A training batch on the GPU, whichever path made it: DevicePrefetcher (CPU loader + H2D copy) or
// data.gpu.GpuBatchPipeline (nvJPEG + augmentation kernels). A training step uses only this interface.
package org.compress.engine.data.cuda;

import org.compress.engine.backend.cuda.CudaStream;
import org.compress.engine.tensor.Tensor;

public interface DeviceInputBatch {
    int epoch();

    /** Position of this batch in its epoch. */
    int index();

    /** Samples in the batch (fewer than the batch size when corrupt samples were skipped, or at an epoch's end). */
    int size();

    /** View v on the device, [size, C, H, W] (a view of a reused buffer; do not close). */
    Tensor view(int v);

    /** Labels on the device, I32 [size]. */
    Tensor deviceLabels();

    int[] labels();

    /** Stable dataset indices (the cached-teacher keys), on the host. */
    int[] indices();

    /** Makes work queued on {@code compute} from now on wait until this batch is ready (no host wait). */
    void awaitOn(CudaStream compute);

    /** Hands the buffers back once the work queued so far on {@code compute} is done with them (no host wait). */
    void release(CudaStream compute);
}
