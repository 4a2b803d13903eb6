// torchvision MobileNetV2 (width 1.0) with torchvision's keys (features.0 ... features.18, classifier.1) and
// init (convs kaiming_normal_ fan_out, classifier Linear normal(0, 0.01) with zero bias). Blocks are
// inverted residuals: 1x1 expand (ReLU6) -> 3x3 depthwise (ReLU6) -> 1x1 project (linear) [+ x].
// input: (N, inChannels, H, W); embedding: (N, 1280) after global average pooling. The small-input stem makes
// the first conv stride 1 (28 px -> 2x2 at the end). A linear head sits at classifier.1 after Dropout(0.2).
package org.compress.engine.nn.models;

import org.compress.engine.backend.Backend;
import org.compress.engine.nn.AdaptiveAvgPool2d;
import org.compress.engine.nn.BatchNorm2d;
import org.compress.engine.nn.Dropout;
import org.compress.engine.nn.Flatten;
import org.compress.engine.nn.Init;
import org.compress.engine.nn.Linear;
import org.compress.engine.nn.Module;
import org.compress.engine.nn.Precision;
import org.compress.engine.nn.ReLU;
import org.compress.engine.nn.ResNetLayers;
import org.compress.engine.nn.Sequential;
import org.compress.engine.ops.Activation;
import org.compress.engine.tensor.Tensor;

public final class MobileNetV2 extends Network {
    public static final int EMBEDDING = 1280;
    private static final int[][] SETTINGS = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1},
            {6, 160, 3, 2}, {6, 320, 1, 1}};

    public MobileNetV2(Backend backend, ModelConfig config) {
        super(backend);
        if (config.widthMultiplier() != 1) throw new IllegalArgumentException("MobileNetV2: width multiplier must be 1, found " + config);
        if (config.precision() != Precision.FP32) {
            throw new IllegalArgumentException("MobileNetV2: FP32 only so far (its head's Dropout is FP32-only), found " + config.precision());
        }
        Init init = new Init(config.seed());
        Sequential features = new Sequential(backend);
        int input = 32;
        features.add(convBnRelu6(backend, init, config.inChannels(), input, 3, config.smallInput() ? 1 : 2, 1));
        for (int[] s : SETTINGS) {
            for (int i = 0; i < s[2]; i++) {
                features.add(new InvertedResidual(backend, init, input, s[1], i == 0 ? s[3] : 1, s[0]));
                input = s[1];
            }
        }
        features.add(convBnRelu6(backend, init, input, EMBEDDING, 1, 1, 1));
        trunk("features", features);
        trunk("avgpool", AdaptiveAvgPool2d.global(backend));
        trunk("flatten", new Flatten(backend));
        embeddingDim(EMBEDDING);
        if (config.head().kind() == Head.Kind.LINEAR) {
            head("classifier.0", new Dropout(backend, 0.2f, config.seed() + 1));
            Tensor w = init.normal(backend, 0.01, config.head().outDim(), EMBEDDING);
            head("classifier.1", new Linear(backend, w, backend.zeros(org.compress.engine.tensor.DType.F32, config.head().outDim())));
            outputDim(config.head().outDim());
        } else {
            addHead("classifier.1", config.head(), init);
        }
        numerics(config);
    }

    /** torchvision's Conv2dNormActivation with ReLU6: children "0" conv (no bias), "1" BN, "2" ReLU6. */
    static Sequential convBnRelu6(Backend backend, Init init, int in, int out, int kernel, int stride, int groups) {
        return new Sequential(backend).add(ResNetLayers.kaiming(backend, init, in, out, kernel, stride, (kernel - 1) / 2, groups))
                .add(new BatchNorm2d(backend, out)).add(ReLU.relu6(backend));
    }

    /** torchvision's InvertedResidual: child "conv" holds the stages; y = conv(x) + x when stride 1 and in == out. */
    static final class InvertedResidual extends Module {
        private final Sequential conv;
        private final boolean residual;
        private Tensor output;

        InvertedResidual(Backend backend, Init init, int in, int out, int stride, int expandRatio) {
            super(backend);
            int hidden = Math.round(in * (float) expandRatio);
            residual = stride == 1 && in == out;
            conv = addChild("conv", new Sequential(backend));
            if (expandRatio != 1) conv.add(convBnRelu6(backend, init, in, hidden, 1, 1, 1));
            conv.add(convBnRelu6(backend, init, hidden, hidden, 3, stride, hidden));
            conv.add(ResNetLayers.kaiming(backend, init, hidden, out, 1, 1, 0, 1));
            conv.add(new BatchNorm2d(backend, out));
        }

        @Override public Tensor forward(Tensor x) {
            Tensor h = conv.forward(x);
            if (!residual) return h;
            output = buffer("y", h.dtype(), h.format(), h.shape());
            backend.activation().addForward(Activation.IDENTITY, h, x, output);
            return output;
        }

        @Override public Tensor backward(Tensor dy) {
            Tensor dx = conv.backward(dy);
            if (residual) backend.elementwise().axpy(1f, dy, dx);
            return dx;
        }
    }
}
