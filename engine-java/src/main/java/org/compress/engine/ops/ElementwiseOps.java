// Elementwise tensor ops: fill, copy, dtype cast, scale and axpy. Shapes must match exactly (no broadcasting).
package org.compress.engine.ops;

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
}
