// Fast CPU activations and the fused residual add + activation: one native pass over the OpenMP pool for F32
// tensors (any shape; all operands share one layout, as ActivationOp requires). BF16 goes to the reference.
package org.compress.engine.backend.cpu;

import org.compress.engine.ops.Activation;
import org.compress.engine.ops.ActivationOp;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

final class DnnlActivation implements ActivationOp {
    private final ActivationOp reference;

    DnnlActivation(ActivationOp reference) { this.reference = reference; }

    static int code(Activation act) {
        return switch (act) {
            case IDENTITY -> 0;
            case RELU -> 1;
            case RELU6 -> 2;
        };
    }

    @Override public void forward(Activation act, Tensor x, Tensor y) {
        ActivationOp.checkSame("activation", x, y);
        if (x.dtype() != DType.F32) {
            reference.forward(act, x, y);
            return;
        }
        DnnlNative.activation(code(act), x.numel(), x.cpuStorage().f32(), (int) x.offset(), null, 0, y.cpuStorage().f32(),
                (int) y.offset());
    }

    @Override public void addForward(Activation act, Tensor a, Tensor b, Tensor y) {
        ActivationOp.checkSame("add+activation", a, b, y);
        if (a.dtype() != DType.F32) {
            reference.addForward(act, a, b, y);
            return;
        }
        DnnlNative.activation(code(act), a.numel(), a.cpuStorage().f32(), (int) a.offset(), b.cpuStorage().f32(), (int) b.offset(),
                y.cpuStorage().f32(), (int) y.offset());
    }

    @Override public void backward(Activation act, Tensor y, Tensor dy, Tensor dx) {
        ActivationOp.checkSame("activation backward", y, dy, dx);
        if (y.dtype() != DType.F32) {
            reference.backward(act, y, dy, dx);
            return;
        }
        DnnlNative.activationBackward(code(act), y.numel(), y.cpuStorage().f32(), (int) y.offset(), dy.cpuStorage().f32(),
                (int) dy.offset(), dx.cpuStorage().f32(), (int) dx.offset());
    }
}
