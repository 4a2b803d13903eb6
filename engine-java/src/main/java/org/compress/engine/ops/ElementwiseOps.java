// Elementwise tensor ops: fill, copy, dtype cast, scale and axpy. Shapes must match exactly (no broadcasting).
package org.compress.engine.ops;

import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public interface ElementwiseOps {
    /** t[i] = value (floating dtypes; rounded to the dtype). */
    void fill(Tensor t, float value);

    /** dst = src, same dtype and element count. */
    void copy(Tensor src, Tensor dst);

    /** dst = (dst.dtype) src between F32, BF16 and F16; round-to-nearest-even. */
    void cast(Tensor src, Tensor dst);

    /** x *= alpha (F32). */
    void scale(Tensor x, float alpha);

    /** y += alpha * x: both F32, or both BF16 (computed in FP32, y rounded once). */
    void axpy(float alpha, Tensor x, Tensor y);

    /** Number of NaN/Inf values in an F32 tensor. Waits for the result (a host synchronisation on the GPU). */
    long countNonFinite(Tensor x);

    /**
     * out[i] = table[indices[i]] row by row (F32; table N x D, out B x D): the cached teacher's lookup. The host
     * indices are checked against N before anything is written; on the GPU they travel by an async copy.
     */
    void gatherRows(Tensor table, int[] indices, Tensor out);

    static void checkGather(Tensor table, int[] indices, Tensor out) {
        Checks.rank("gatherRows table", table, 2);
        Checks.dtype("gatherRows table", table, DType.F32);
        Checks.shape("gatherRows out", out, indices.length, table.dim(1));
        Checks.dtype("gatherRows out", out, DType.F32);
        for (int i = 0; i < indices.length; i++) {
            if (indices[i] < 0 || indices[i] >= table.dim(0)) {
                throw new ShapeMismatchException("gatherRows: index " + indices[i] + " at position " + i + " is outside the table's "
                        + table.dim(0) + " rows");
            }
        }
    }
}
