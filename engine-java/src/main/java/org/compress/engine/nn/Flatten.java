// Flatten (torch.nn.Flatten): input (N, C, H, W) -> output (N, C*H*W) as a view of the same memory (no copy);
// backward reshapes the gradient back, in the input's memory format. A channels-last input must have H = W = 1
// (then both layouts agree, and the gradient is handed back as a channels-last view).
package org.compress.engine.nn;

import org.compress.engine.backend.Backend;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public final class Flatten extends Module {
    private int[] inputShape;
    private MemoryFormat inputFormat;

    public Flatten(Backend backend) { super(backend); }

    @Override public Tensor forward(Tensor x) {
        if (x.format() == MemoryFormat.CHANNELS_LAST && x.dim(2) * x.dim(3) != 1) {
            throw new ShapeMismatchException("Flatten: a channels-last input must be (N, C, 1, 1), found " + x);
        }
        inputShape = x.shape();
        inputFormat = x.format();
        return x.reshape(x.dim(0), x.rowLength());
    }

    @Override public Tensor backward(Tensor dy) {
        Tensor g = dy.reshape(inputShape);
        if (inputFormat != MemoryFormat.CHANNELS_LAST) return g;
        return new Tensor(g.storage(), g.offset(), g.dtype(), MemoryFormat.CHANNELS_LAST, inputShape, false);
    }
}
