// A batch made on the GPU by GpuBatchPipeline: per view a [size, 3, H, W] tensor (F32 or BF16) and the labels
// as I32 [size], in one of the pipeline's reusable slots. awaitOn(compute) before reading, release(compute)
// after the last kernel that reads it is queued. UNVERIFIED without a GPU.
package org.compress.engine.data.gpu;

import org.compress.engine.backend.cuda.CudaStream;
import org.compress.engine.data.cuda.DeviceInputBatch;
import org.compress.engine.tensor.Tensor;

public final class GpuBatch implements DeviceInputBatch {
    private final GpuBatchPipeline.Slot slot;
    private final int generation, epoch, index, size;
    private final int[] labels, indices;
    private boolean released;

    GpuBatch(GpuBatchPipeline.Slot slot, int generation, int epoch, int index, int size, int[] labels, int[] indices) {
        this.slot = slot;
        this.generation = generation;
        this.epoch = epoch;
        this.index = index;
        this.size = size;
        this.labels = labels;
        this.indices = indices;
    }

    @Override public int epoch() { return epoch; }

    @Override public int index() { return index; }

    @Override public int size() { return size; }

    @Override public Tensor view(int v) {
        if (released) throw new IllegalStateException("batch used after release()");
        if (v < 0 || v >= slot.views) throw new IllegalArgumentException("view " + v + " of a " + slot.views + "-view batch");
        return slot.output.rows(v * slot.capacity, size);
    }

    @Override public Tensor deviceLabels() { return slot.labels.rows(0, size); }

    @Override public int[] labels() { return labels.clone(); }

    @Override public int[] indices() { return indices.clone(); }

    @Override public void awaitOn(CudaStream compute) { compute.waitFor(slot.done); }

    @Override public void release(CudaStream compute) {
        if (released) return;
        released = true;
        slot.released.record(compute);
        slot.owner.recycle(slot, generation);
    }
}
