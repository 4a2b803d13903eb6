// CompRess's cached teacher: teacher embeddings computed once per training image (on its deterministic view)
// and looked up by the image's stable dataset index each step, so the teacher never runs during distillation.
// The rows for a batch are gathered on the host into one reused tensor and staged to the backend.
package org.compress.engine.train;

import org.compress.engine.backend.Backend;
import org.compress.engine.data.datasets.Dataset;
import org.compress.engine.data.transforms.Recipe;
import org.compress.engine.nn.models.Network;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public final class TeacherCache implements AutoCloseable {
    private final float[] embeddings;
    private final int size;
    private final int dim;
    private final BatchStager stager;
    private Tensor rows;

    public TeacherCache(Backend backend, float[] embeddings, int size, int dim) {
        if (embeddings.length != (long) size * dim) {
            throw new ShapeMismatchException("teacher cache: " + size + " images of " + dim + "-d need " + (long) size * dim
                    + " values, found " + embeddings.length);
        }
        this.embeddings = embeddings;
        this.size = size;
        this.dim = dim;
        this.stager = new BatchStager(backend);
    }

    /** Runs the teacher once over the dataset (eval mode, the given deterministic view). */
    public static TeacherCache compute(Backend backend, Network teacher, Dataset data, Recipe view, int batchSize, int workers) {
        Embeddings.Set set = Embeddings.of(backend, teacher, data, view, batchSize, workers);
        return new TeacherCache(backend, set.values(), data.size(), set.dim());
    }

    public int dim() { return dim; }

    /** The cached embeddings of images {@code indices} (B x dim), valid until the next lookup. */
    public Tensor lookup(int[] indices) {
        if (rows == null || rows.dim(0) != indices.length) rows = Tensor.cpuZeros(org.compress.engine.tensor.DType.F32, indices.length, dim);
        float[] dst = rows.cpuStorage().f32();
        for (int i = 0; i < indices.length; i++) {
            int index = indices[i];
            if (index < 0 || index >= size) {
                throw new ShapeMismatchException("teacher cache holds images 0.." + (size - 1) + ", asked for " + index);
            }
            System.arraycopy(embeddings, index * dim, dst, i * dim, dim);
        }
        return stager.stage(rows);
    }

    @Override public void close() { stager.close(); }
}
