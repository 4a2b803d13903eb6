// Pointwise activations and the fused residual add: y = act(x); y = act(a + b) (one pass instead of two,
// for ResNet's "out += identity; relu(out)"); dx = dy * [act passes at y]. F32 or BF16 (the sum in FP32, one
// rounding), any shape and layout, but all operands must have the same dtype, shape and memory format.
// dx may alias dy.
package org.compress.engine.ops;

import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public interface ActivationOp {
    void forward(Activation act, Tensor x, Tensor y);

    /** y = act(a + b); y may alias a or b. */
    void addForward(Activation act, Tensor a, Tensor b, Tensor y);

    /** dx = dy where act passes at the forward's output y, else 0. */
    void backward(Activation act, Tensor y, Tensor dy, Tensor dx);

    static void checkSame(String what, Tensor first, Tensor... others) {
        Checks.dtype(what, first, DType.F32, DType.BF16);
        for (Tensor t : others) {
            Checks.dtype(what, t, first.dtype());
            Checks.sameShape(what, first, t);
            if (t.format() != first.format()) throw new ShapeMismatchException(what + ": formats differ: " + first + " vs " + t);
        }
    }
}
