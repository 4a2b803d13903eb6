// CompRess's cached teacher: teacher embeddings computed once per training image (on its deterministic view)
// and looked up by the image's stable dataset index each step, so the teacher never runs during distillation.
// The table lives on the backend; a step gathers its rows there (on the GPU: an async index copy + one kernel).
package org.compress.engine.train;

import org.compress.engine.backend.Backend;
import org.compress.engine.data.datasets.Dataset;
import org.compress.engine.data.transforms.Recipe;
import org.compress.engine.nn.models.Network;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public final class TeacherCache implements AutoCloseable {
    private final Backend backend;
    private final Tensor table;
    private Tensor rows;

    public TeacherCache(Backend backend, float[] embeddings, int size, int dim) {
        if (embeddings.length != (long) size * dim) {
            throw new ShapeMismatchException("teacher cache: " + size + " images of " + dim + "-d need " + (long) size * dim
                    + " values, found " + embeddings.length);
        }
        this.backend = backend;
        this.table = backend.upload(Tensor.cpu(embeddings, size, dim));
    }

    /** Runs the teacher once over the dataset (eval mode, the given deterministic view). */
    public static TeacherCache compute(Backend backend, Network teacher, Dataset data, Recipe view, int batchSize, int workers) {
        Embeddings.Set set = Embeddings.of(backend, teacher, data, view, batchSize, workers);
        return new TeacherCache(backend, set.values(), data.size(), set.dim());
    }

    public int dim() { return table.dim(1); }

    /** The cached embeddings of images {@code indices} (B x dim, on the backend), valid until the next lookup. */
    public Tensor lookup(int[] indices) {
        for (int index : indices) {
            if (index < 0 || index >= table.dim(0)) {
                throw new ShapeMismatchException("teacher cache holds images 0.." + (table.dim(0) - 1) + ", asked for " + index);
            }
        }
        if (rows == null || rows.dim(0) != indices.length) {
            if (rows != null) rows.close();
            rows = backend.empty(org.compress.engine.tensor.DType.F32, indices.length, table.dim(1));
        }
        backend.elementwise().gatherRows(table, indices, rows);
        return rows;
    }

    @Override public void close() {
        if (rows != null) rows.close();
        table.close();
    }
}
