// 2-d convolution (cross-correlation, as PyTorch): y = conv(x, w) + bias, and its two gradients.
// x: (N, C, H, W), w: (K, C/groups, R, S), bias: (K) or null, y: (N, K, P, Q). x, w, y (and dx, dw, dy) share
// one dtype: F32, or BF16 with FP32 accumulation (cuDNN's pseudo-bf16 configuration); a bias is F32 with F32 y.
// The backward passes overwrite their output (they do not accumulate); the bias gradient is BiasOp.backward.
package org.compress.engine.ops;

import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public interface ConvolutionOp {
    void forward(Tensor x, Tensor w, Tensor bias, Tensor y, Conv2dParams p);

    /** dx = dL/dx given dy = dL/dy: the transposed convolution of dy with w. dx: (N, C, H, W). */
    void backwardData(Tensor dy, Tensor w, Tensor dx, Conv2dParams p);

    /** dw = dL/dw = sum over the batch and output positions of dy * x. dw: (K, C/groups, R, S). */
    void backwardFilter(Tensor x, Tensor dy, Tensor dw, Conv2dParams p);

    /** Checks for backwardData: dx and dy must be the x and y of a forward with w. */
    static void checkBackwardData(Tensor dy, Tensor w, Tensor dx, Conv2dParams p) {
        checkForward(dx, w, null, dy, p);
    }

    /** Checks for backwardFilter: x, dw and dy must be the x, w and y of a forward. */
    static void checkBackwardFilter(Tensor x, Tensor dy, Tensor dw, Conv2dParams p) {
        checkForward(x, dw, null, dy, p);
    }

    static void checkForward(Tensor x, Tensor w, Tensor bias, Tensor y, Conv2dParams p) {
        Checks.rank("conv2d x", x, 4);
        Checks.rank("conv2d w", w, 4);
        Checks.dtype("conv2d x", x, DType.F32, DType.BF16);
        Checks.dtype("conv2d w (the dtype of x)", w, x.dtype());
        Checks.dtype("conv2d y (the dtype of x)", y, x.dtype());
        int c = x.dim(1);
        int k = w.dim(0);
        if (c % p.groups() != 0 || k % p.groups() != 0 || w.dim(1) != c / p.groups()) {
            throw new ShapeMismatchException("conv2d: input has " + c + " channels, weight " + w + " with groups=" + p.groups()
                    + " expects " + w.dim(1) * p.groups());
        }
        int outH = p.outH(x.dim(2), w.dim(2));
        int outW = p.outW(x.dim(3), w.dim(3));
        if (outH < 1 || outW < 1) {
            throw new ShapeMismatchException("conv2d: kernel " + w.dim(2) + "x" + w.dim(3) + " does not fit input " + x);
        }
        Checks.shape("conv2d y", y, x.dim(0), k, outH, outW);
        if (bias != null) {
            Checks.shape("conv2d bias", bias, k);
            Checks.dtype("conv2d bias", bias, DType.F32);
            Checks.dtype("conv2d y with a bias", y, DType.F32);
        }
    }
}
