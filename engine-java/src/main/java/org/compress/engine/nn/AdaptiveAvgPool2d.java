// Adaptive average pooling (torch.nn.AdaptiveAvgPool2d). input: (N, C, H, W); output: (N, C, OH, OW);
// (1, 1) is global average pooling (ResNet, MobileNetV2), (6, 6) AlexNet's.
package org.compress.engine.nn;

import org.compress.engine.backend.Backend;
import org.compress.engine.tensor.Tensor;

public final class AdaptiveAvgPool2d extends Module {
    private final int outH;
    private final int outW;
    private Tensor input;

    public AdaptiveAvgPool2d(Backend backend, int outH, int outW) {
        super(backend);
        if (outH < 1 || outW < 1) throw new IllegalArgumentException("AdaptiveAvgPool2d: expected output size >= 1, found " + outH + "x" + outW);
        this.outH = outH;
        this.outW = outW;
    }

    public static AdaptiveAvgPool2d global(Backend backend) { return new AdaptiveAvgPool2d(backend, 1, 1); }

    @Override public Tensor forward(Tensor x) {
        Tensor y = buffer("y", x.dtype(), x.format(), x.dim(0), x.dim(1), outH, outW);
        backend.pooling().adaptiveAvgForward(x, y);
        input = x;
        return y;
    }

    @Override public Tensor backward(Tensor dy) {
        Tensor dx = buffer("dx", input.dtype(), input.format(), input.shape());
        backend.pooling().adaptiveAvgBackward(dy, dx);
        return dx;
    }
}
