// One batch on the host: per view an N x C x H x W float32 array (normalised), labels and the stable dataset
// indices. size() <= capacity() when corrupt samples were skipped. close() hands the arrays back to the
// loader's pool for reuse; do not touch them afterwards.
package org.compress.engine.data.loader;

import java.util.function.Consumer;
import org.compress.engine.tensor.Tensor;

public final class Batch implements AutoCloseable {
    private final int epoch, index, size, capacity, channels, height, width;
    private final float[][] views;
    private final int[] labels, indices;
    private final Consumer<float[][]> recycle;
    private boolean closed;

    Batch(int epoch, int index, int size, int capacity, int channels, int height, int width,
          float[][] views, int[] labels, int[] indices, Consumer<float[][]> recycle) {
        this.epoch = epoch;
        this.index = index;
        this.size = size;
        this.capacity = capacity;
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.views = views;
        this.labels = labels;
        this.indices = indices;
        this.recycle = recycle;
    }

    public int epoch() { return epoch; }

    /** Position of this batch in its epoch (0, 1, ...). */
    public int index() { return index; }

    /** Samples in the batch (capacity minus skipped ones). */
    public int size() { return size; }

    public int capacity() { return capacity; }

    public int viewCount() { return views.length; }

    public int channels() { return channels; }

    public int height() { return height; }

    public int width() { return width; }

    /** The raw NCHW floats of view v (length capacity * C * H * W; the first size() samples are valid). */
    public float[] viewData(int v) {
        if (closed) throw new IllegalStateException("batch used after close()");
        return views[v];
    }

    /** View v as a host tensor [size, C, H, W] sharing the array (no copy). */
    public Tensor view(int v) {
        return Tensor.cpu(viewData(v), capacity, channels, height, width).rows(0, size);
    }

    /** Labels of the first size() samples. */
    public int[] labels() { return java.util.Arrays.copyOf(labels, size); }

    /** Stable dataset indices of the first size() samples (the cached-teacher keys). */
    public int[] indices() { return java.util.Arrays.copyOf(indices, size); }

    @Override public void close() {
        if (closed) return;
        closed = true;
        recycle.accept(views);
    }
}
