// 2-d convolution layer (torch.nn.Conv2d). input: (N, C, H, W); output: (N, K, P, Q) with
// P = (H + 2*padding - kernel) / stride + 1. Parameters: weight (K, C/groups, k, k), bias (K) if enabled.
// Default init is PyTorch's (uniform +-1/sqrt(fan_in)); models re-initialise as torchvision does.
// Numerics: output dtype/format follow the input's; under BF16_MIXED or CHANNELS_LAST the weight computes from
// a BF16 and/or KRSC copy, and its gradient (computed in the copy's dtype/format, as cuDNN requires) is
// converted into the FP32 master gradient. A bias needs FP32 (BF16_MIXED with a bias is refused).
package org.compress.engine.nn;

import org.compress.engine.backend.Backend;
import org.compress.engine.ops.Activation;
import org.compress.engine.ops.Conv2dParams;
import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public final class Conv2d extends Module {
    private final Conv2dParams geometry;
    private final Parameter weight;
    private final Parameter bias;
    private Tensor input;

    /** PyTorch's default init: weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
    public Conv2d(Backend backend, Init init, int in, int out, int kernel, int stride, int padding, int groups, boolean withBias) {
        this(backend, defaultWeight(backend, init, in, out, kernel, groups),
                withBias ? init.uniform(backend, 1 / Math.sqrt(in / groups * kernel * kernel), out) : null, stride, padding, groups);
    }

    /** With a given initial weight (K, C/groups, k, k) and bias (K) or null; the layer takes ownership. */
    public Conv2d(Backend backend, Tensor weight, Tensor bias, int stride, int padding, int groups) {
        super(backend);
        Checks.rank("Conv2d weight", weight, 4);
        if (weight.dim(2) != weight.dim(3)) throw new ShapeMismatchException("Conv2d: expected a square kernel, found " + weight);
        if (weight.dim(0) % groups != 0) {
            throw new ShapeMismatchException("Conv2d: " + weight.dim(0) + " output channels are not divisible by groups " + groups);
        }
        if (bias != null) Checks.shape("Conv2d bias", bias, weight.dim(0));
        this.geometry = new Conv2dParams(stride, stride, padding, padding, 1, 1, groups);
        this.weight = addParameter("weight", weight, true);
        this.bias = bias == null ? null : addParameter("bias", bias, false);
    }

    private static Tensor defaultWeight(Backend backend, Init init, int in, int out, int kernel, int groups) {
        if (in % groups != 0 || out % groups != 0) {
            throw new IllegalArgumentException("Conv2d: channels " + in + " -> " + out + " are not divisible by groups " + groups);
        }
        int[] shape = {out, in / groups, kernel, kernel};
        return init.uniform(backend, 1 / Math.sqrt(Init.fanIn(shape)), shape);
    }

    public Parameter weight() { return weight; }

    public Parameter bias() { return bias; }

    public Conv2dParams geometry() { return geometry; }

    @Override protected void numericsChanged(Precision precision, MemoryFormat format) {
        if (bias != null && precision != Precision.FP32) {
            throw new UnsupportedOperationException("Conv2d: a convolution with a bias has no " + precision
                    + " path (cuDNN adds a bias to FP32 outputs only); ResNet and MobileNetV2 convolutions have none");
        }
        computeAs(weight, precision.activationType(), format);
    }

    @Override public Tensor forward(Tensor x) {
        int k = weight.value().dim(0), r = weight.value().dim(2);
        int p = geometry.outH(x.dim(2), r), q = geometry.outW(x.dim(3), r);
        Tensor y = buffer("y", x.dtype(), x.format(), x.dim(0), k, Math.max(p, 0), Math.max(q, 0));
        backend.convolution().forward(x, weight.compute(), bias == null ? null : bias.value(), y, geometry);
        input = x;
        return y;
    }

    /**
     * Whether forwardFused can run for x followed by bn: eval mode, no bias, and a backend that fuses these operands
     * (Backend.convBnAct). Batch norm in eval mode uses its running statistics only, so a replaced batch-norm op (the
     * synchronised one) computes the same there.
     */
    public boolean fusesInference(Tensor x, BatchNorm2d bn) {
        return !isTraining() && !bn.isTraining() && bias == null && backend.convBnAct().supports(x, weight.compute(), geometry);
    }

    /**
     * Eval mode: act(bn(this(x)) [+ residual]) in one pass (Backend.convBnAct), as bn.forward(forward(x)) and the
     * activation would compute it; check fusesInference first. The result is this layer's output buffer.
     */
    public Tensor forwardFused(Tensor x, BatchNorm2d bn, Tensor residual, Activation act) {
        Tensor w = weight.compute();
        int k = w.dim(0), r = w.dim(2);
        Tensor y = buffer("y", x.dtype(), x.format(), x.dim(0), k, Math.max(geometry.outH(x.dim(2), r), 0),
                Math.max(geometry.outW(x.dim(3), r), 0));
        backend.convBnAct().forwardInference(x, w, geometry, bn.weight().value(), bn.bias().value(), bn.runningMean(), bn.runningVar(),
                BatchNorm2d.EPS, residual, act, y);
        input = x;
        return y;
    }

    @Override public Tensor backward(Tensor dy) {
        Tensor w = weight.compute();
        Tensor dw = weight.hasComputeCopy() ? buffer("dw", w.dtype(), w.format(), w.shape()) : weight.grad();
        backend.convolution().backwardFilter(input, dy, dw, geometry);
        if (dw != weight.grad()) backend.convert().convert(dw, weight.grad());
        if (bias != null) backend.bias().backward(dy, bias.grad());
        if (!inputGradRequired()) return null;
        Tensor dx = buffer("dx", input.dtype(), input.format(), input.shape());
        backend.convolution().backwardData(dy, w, dx, geometry);
        return dx;
    }
}
