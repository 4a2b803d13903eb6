// Eval-mode fusion of the pattern every ResNet (and MobileNetV2) layer repeats: a bias-free convolution, batch norm
// with its running statistics, an optional residual add and an activation, in one pass over the output:
//   y = act(BatchNormOp.forwardInference(conv(x, w)) [+ residual])
// It computes what ConvolutionOp.forward, BatchNormOp.forwardInference and ActivationOp.forward / addForward compute
// one after another, without writing and re-reading the intermediate tensors; a backend may fold the batch norm into
// the convolution (w * scale, shift - mean * scale, as inference engines do), which rounds differently from the
// separate ops by a few ulps of the terms (the fast CPU backend does; DnnlOpsTest bounds it). Optional: a backend that cannot fuse some operands says so in supports(), and the layers
// then run the three ops (nn/Conv2d.forwardInference). x, w, y as ConvolutionOp; residual has y's shape, dtype and
// format; the per-channel tensors as BatchNormOp.
package org.compress.engine.ops;

import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.Tensor;

public interface ConvBnActOp {
    /** A backend that fuses nothing: the layers run the separate ops. */
    ConvBnActOp NONE = new ConvBnActOp() {
        @Override public boolean supports(Tensor x, Tensor w, Conv2dParams p) { return false; }

        @Override public void forwardInference(Tensor x, Tensor w, Conv2dParams p, Tensor gamma, Tensor beta, Tensor runningMean,
                                               Tensor runningVar, float eps, Tensor residual, Activation act, Tensor y) {
            throw new UnsupportedOperationException("this backend has no fused inference convolution (check supports() first)");
        }
    };

    /** Whether forwardInference runs for these operands; when false the caller runs the separate ops. */
    boolean supports(Tensor x, Tensor w, Conv2dParams p);

    void forwardInference(Tensor x, Tensor w, Conv2dParams p, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                          float eps, Tensor residual, Activation act, Tensor y);

    static void check(Tensor x, Tensor w, Conv2dParams p, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar,
                      Tensor residual, Tensor y) {
        ConvolutionOp.checkForward(x, w, null, y, p);
        BatchNormOp.checkChannel("conv+batchnorm", y, gamma, beta, runningMean, runningVar);
        if (residual != null) ActivationOp.checkSame("conv+batchnorm+residual", y, residual);
        Checks.rank("conv+batchnorm y", y, 4);
    }
}
