// A batch on the GPU: per view a [size, C, H, W] F32 tensor and the labels as an I32 [size] tensor, in one
// of the prefetcher's reusable slots. Call awaitOn(compute) before using the tensors on the compute stream
// and release(compute) after the last kernel that reads them is queued; UNVERIFIED without a GPU.
package org.compress.engine.data.cuda;

import org.compress.engine.backend.cuda.CudaStream;
import org.compress.engine.tensor.Tensor;

public final class DeviceBatch implements DeviceInputBatch {
    private final DevicePrefetcher.Slot slot;
    private final int epoch, index, size;
    private final int[] labels, indices;
    private boolean released;

    DeviceBatch(DevicePrefetcher.Slot slot, int epoch, int index, int size, int[] labels, int[] indices) {
        this.slot = slot;
        this.epoch = epoch;
        this.index = index;
        this.size = size;
        this.labels = labels;
        this.indices = indices;
    }

    public int epoch() { return epoch; }

    public int index() { return index; }

    public int size() { return size; }

    /** View v on the device, [size, C, H, W] (a view of the slot's tensor; do not close). */
    public Tensor view(int v) { return slot.views[v].rows(0, size); }

    /** Labels on the device, I32 [size]. */
    public Tensor deviceLabels() { return slot.labels.rows(0, size); }

    public int[] labels() { return labels.clone(); }

    /** Stable dataset indices (the cached-teacher keys), on the host. */
    public int[] indices() { return indices.clone(); }

    /** Makes work queued on {@code compute} from now on wait for this batch's copy (no host wait). */
    public void awaitOn(CudaStream compute) { compute.waitFor(slot.copied); }

    /** Returns the slot once the work queued so far on {@code compute} is done with it (no host wait). */
    public void release(CudaStream compute) {
        if (released) return;
        released = true;
        slot.released.record(compute);
        slot.owner.recycle(slot);
    }
}
