// Fully connected layer (torch.nn.Linear): y = x W^T + b. input: (N, in); output: (N, out).
// Parameters weight (out, in), bias (out, excluded from weight decay). GEMMs run in FP32 (cuBLAS on CUDA).
// A BF16 input (BF16_MIXED) multiplies with the weight's BF16 copy, accumulating in FP32: y = round_bf16(x W^T
// + b) with the bias added in FP32 before the one rounding; dW goes straight to the FP32 gradient, db is summed
// from dy widened to FP32, dx is BF16.
package org.compress.engine.nn;

import org.compress.engine.backend.Backend;
import org.compress.engine.ops.GemmPrecision;
import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;

public final class Linear extends Module {
    private final Parameter weight;
    private final Parameter bias;
    private Tensor input;

    /** PyTorch's default init: weight and bias U(-1/sqrt(in), 1/sqrt(in)). */
    public Linear(Backend backend, Init init, int in, int out, boolean withBias) {
        this(backend, init.uniform(backend, 1 / Math.sqrt(in), out, in), withBias ? init.uniform(backend, 1 / Math.sqrt(in), out) : null);
    }

    /** With given initial weight (out, in) and bias (out) or null; the layer takes ownership. */
    public Linear(Backend backend, Tensor weight, Tensor bias) {
        super(backend);
        Checks.rank("Linear weight", weight, 2);
        if (bias != null) Checks.shape("Linear bias", bias, weight.dim(0));
        this.weight = addParameter("weight", weight, true);
        this.bias = bias == null ? null : addParameter("bias", bias, false);
    }

    public Parameter weight() { return weight; }

    public Parameter bias() { return bias; }

    public int inFeatures() { return weight.value().dim(1); }

    public int outFeatures() { return weight.value().dim(0); }

    @Override protected void numericsChanged(Precision precision, MemoryFormat format) {
        computeAs(weight, precision.activationType(), MemoryFormat.CONTIGUOUS);
    }

    private static GemmPrecision gemmPrecision(Tensor x) { return x.dtype() == DType.BF16 ? GemmPrecision.BF16 : GemmPrecision.FP32; }

    @Override public Tensor forward(Tensor x) {
        Checks.rank("Linear input", x, 2);
        Tensor y = buffer("y", x.dtype(), MemoryFormat.CONTIGUOUS, x.dim(0), outFeatures());
        Tensor acc = x.dtype() == DType.F32 ? y : buffer("yF32", MemoryFormat.CONTIGUOUS, x.dim(0), outFeatures());
        backend.gemm().gemm(false, true, 1f, x, weight.compute(), 0f, acc, gemmPrecision(x));
        if (bias != null) backend.bias().forward(acc, bias.value());
        if (acc != y) backend.convert().convert(acc, y);
        input = x;
        return y;
    }

    @Override public Tensor backward(Tensor dy) {
        backend.gemm().gemm(true, false, 1f, dy, input, 0f, weight.grad(), gemmPrecision(dy));
        if (bias != null) {
            Tensor dy32 = dy;
            if (dy.dtype() != DType.F32) {
                dy32 = buffer("dyF32", MemoryFormat.CONTIGUOUS, dy.shape());
                backend.convert().convert(dy, dy32);
            }
            backend.bias().backward(dy32, bias.grad());
        }
        if (!inputGradRequired()) return null;
        Tensor dx = buffer("dx", dy.dtype(), MemoryFormat.CONTIGUOUS, input.shape());
        backend.gemm().gemm(false, false, 1f, dy, weight.compute(), 0f, dx, gemmPrecision(dy));
        return dx;
    }
}
