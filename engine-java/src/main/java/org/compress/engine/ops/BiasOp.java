// Per-channel bias over dimension 1 of a (N, C) or (N, C, H, W) tensor: forward y += b (broadcast),
// backward db = sum of dy over every dimension but 1 (overwritten). F32.
package org.compress.engine.ops;

import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public interface BiasOp {
    void forward(Tensor y, Tensor bias);

    void backward(Tensor dy, Tensor dBias);

    static void check(Tensor y, Tensor bias) {
        if (y.rank() != 2 && y.rank() != 4) throw new ShapeMismatchException("bias: expected a 2-d or 4-d tensor, found " + y);
        Checks.dtype("bias y", y, DType.F32);
        Checks.shape("bias", bias, y.dim(1));
        Checks.dtype("bias", bias, DType.F32);
    }
}
