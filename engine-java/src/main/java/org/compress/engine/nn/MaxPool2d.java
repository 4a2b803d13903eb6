// Max pooling (torch.nn.MaxPool2d, ceil_mode False). input: (N, C, H, W); output: (N, C, OH, OW) with
// OH = (H + 2*padding - kernel) / stride + 1. A tie sends the gradient to the first maximum (CPU).
package org.compress.engine.nn;

import org.compress.engine.backend.Backend;
import org.compress.engine.ops.PoolParams;
import org.compress.engine.tensor.Tensor;

public final class MaxPool2d extends Module {
    private final PoolParams geometry;
    private Tensor input;
    private Tensor output;

    public MaxPool2d(Backend backend, int kernel, int stride, int padding) {
        super(backend);
        this.geometry = PoolParams.of(kernel, stride, padding);
    }

    @Override public Tensor forward(Tensor x) {
        output = buffer("y", x.dtype(), x.format(), x.dim(0), x.dim(1), Math.max(0, geometry.outH(x.dim(2))), Math.max(0, geometry.outW(x.dim(3))));
        backend.pooling().maxForward(x, output, geometry);
        input = x;
        return output;
    }

    @Override public Tensor backward(Tensor dy) {
        Tensor dx = buffer("dx", input.dtype(), input.format(), input.shape());
        backend.pooling().maxBackward(input, output, dy, dx, geometry);
        return dx;
    }
}
