// ReLU or ReLU6 (torch.nn.ReLU / ReLU6). input/output: any shape. The gradient is taken from the output.
package org.compress.engine.nn;

import org.compress.engine.backend.Backend;
import org.compress.engine.ops.Activation;
import org.compress.engine.tensor.Tensor;

public final class ReLU extends Module {
    private final Activation kind;
    private Tensor output;

    public ReLU(Backend backend) { this(backend, Activation.RELU); }

    public ReLU(Backend backend, Activation kind) {
        super(backend);
        this.kind = kind;
    }

    public static ReLU relu6(Backend backend) { return new ReLU(backend, Activation.RELU6); }

    public Activation kind() { return kind; }

    @Override public Tensor forward(Tensor x) {
        output = buffer("y", x.dtype(), x.format(), x.shape());
        backend.activation().forward(kind, x, output);
        return output;
    }

    @Override public Tensor backward(Tensor dy) {
        Tensor dx = buffer("dx", output.dtype(), output.format(), output.shape());
        backend.activation().backward(kind, output, dy, dx);
        return dx;
    }
}
