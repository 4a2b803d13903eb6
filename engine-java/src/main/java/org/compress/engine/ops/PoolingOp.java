// 2-d pooling: max pooling (padding counts as -inf; in a tie the first maximum in row-major window order
// takes the gradient, as PyTorch's CPU kernel) and adaptive average pooling (PyTorch's AdaptiveAvgPool2d:
// output cell i averages input rows floor(i*H/OH) .. ceil((i+1)*H/OH)-1; OH = OW = 1 is global pooling).
// x, dx: (N, C, H, W); y, dy: (N, C, OH, OW); one dtype, F32 or BF16 (averages sum in FP32 or better).
// Backward passes overwrite dx.
package org.compress.engine.ops;

import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public interface PoolingOp {
    void maxForward(Tensor x, Tensor y, PoolParams p);

    /** dx from x, the forward's y and dy. */
    void maxBackward(Tensor x, Tensor y, Tensor dy, Tensor dx, PoolParams p);

    void adaptiveAvgForward(Tensor x, Tensor y);

    void adaptiveAvgBackward(Tensor dy, Tensor dx);

    static void checkMax(Tensor x, Tensor y, PoolParams p) {
        Checks.rank("maxpool x", x, 4);
        Checks.dtype("maxpool x", x, DType.F32, DType.BF16);
        Checks.dtype("maxpool y (the dtype of x)", y, x.dtype());
        int oh = p.outH(x.dim(2)), ow = p.outW(x.dim(3));
        if (oh < 1 || ow < 1) throw new ShapeMismatchException("maxpool: window " + p + " does not fit input " + x);
        Checks.shape("maxpool y", y, x.dim(0), x.dim(1), oh, ow);
        if (x.format() != y.format()) throw new ShapeMismatchException("maxpool: x is " + x + " but y is " + y);
    }

    /** maxBackward's checks: those of the forward, and dy, dx shaped and typed as y, x. */
    static void checkMaxBackward(Tensor x, Tensor y, Tensor dy, Tensor dx, PoolParams p) {
        checkMax(x, y, p);
        Checks.sameShape("maxpool dy vs y", dy, y);
        Checks.sameShape("maxpool dx vs x", dx, x);
        Checks.dtype("maxpool dy (the dtype of x)", dy, x.dtype());
        Checks.dtype("maxpool dx (the dtype of x)", dx, x.dtype());
    }

    static void checkAdaptive(Tensor x, Tensor y) {
        Checks.rank("adaptive avgpool x", x, 4);
        Checks.rank("adaptive avgpool y", y, 4);
        Checks.dtype("adaptive avgpool x", x, DType.F32, DType.BF16);
        Checks.dtype("adaptive avgpool y (the dtype of x)", y, x.dtype());
        if (y.dim(0) != x.dim(0) || y.dim(1) != x.dim(1) || y.dim(2) < 1 || y.dim(3) < 1) {
            throw new ShapeMismatchException("adaptive avgpool: expected y of shape [" + x.dim(0) + ", " + x.dim(1)
                    + ", OH >= 1, OW >= 1], found " + y);
        }
    }
}
