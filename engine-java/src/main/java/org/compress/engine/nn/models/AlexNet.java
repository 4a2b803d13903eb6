// AlexNet as torchvision (one-weird-trick variant: 64-192-384-256-256 channels, AdaptiveAvgPool2d(6, 6),
// dropout 0.5 before fc6 and fc7) with torchvision's keys (features.0 ... features.10, classifier.1/.4/.6).
// CompRess uses it as a student with the embedding = fc7 after its ReLU (classifier.5): (N, 4096).
// The head sits in slot "classifier.6" (a 1000-way classifier gives torchvision's 61,100,840 parameters).
// input: (N, inChannels, H, W) with H, W >= 63; no small-input stem (its 11x11 stride-4 conv needs large images).
package org.compress.engine.nn.models;

import org.compress.engine.backend.Backend;
import org.compress.engine.nn.AdaptiveAvgPool2d;
import org.compress.engine.nn.Conv2d;
import org.compress.engine.nn.Dropout;
import org.compress.engine.nn.Flatten;
import org.compress.engine.nn.Init;
import org.compress.engine.nn.Linear;
import org.compress.engine.nn.MaxPool2d;
import org.compress.engine.nn.Precision;
import org.compress.engine.nn.ReLU;

public final class AlexNet extends Network {
    public static final int EMBEDDING = 4096;

    public AlexNet(Backend backend, ModelConfig config) {
        super(backend);
        if (config.smallInput() || config.widthMultiplier() != 1) {
            throw new IllegalArgumentException("AlexNet: no small-input stem or width multiplier; found " + config);
        }
        if (config.precision() != Precision.FP32) {
            throw new IllegalArgumentException("AlexNet: FP32 only (its convolutions have biases, which need FP32 outputs), found "
                    + config.precision());
        }
        Init init = new Init(config.seed());
        trunk("features.0", new Conv2d(backend, init, config.inChannels(), 64, 11, 4, 2, 1, true));
        trunk("features.1", new ReLU(backend));
        trunk("features.2", new MaxPool2d(backend, 3, 2, 0));
        trunk("features.3", new Conv2d(backend, init, 64, 192, 5, 1, 2, 1, true));
        trunk("features.4", new ReLU(backend));
        trunk("features.5", new MaxPool2d(backend, 3, 2, 0));
        trunk("features.6", new Conv2d(backend, init, 192, 384, 3, 1, 1, 1, true));
        trunk("features.7", new ReLU(backend));
        trunk("features.8", new Conv2d(backend, init, 384, 256, 3, 1, 1, 1, true));
        trunk("features.9", new ReLU(backend));
        trunk("features.10", new Conv2d(backend, init, 256, 256, 3, 1, 1, 1, true));
        trunk("features.11", new ReLU(backend));
        trunk("features.12", new MaxPool2d(backend, 3, 2, 0));
        trunk("avgpool", new AdaptiveAvgPool2d(backend, 6, 6));
        trunk("flatten", new Flatten(backend));
        trunk("classifier.0", new Dropout(backend, 0.5f, config.seed() + 1));
        trunk("classifier.1", new Linear(backend, init, 256 * 6 * 6, EMBEDDING, true));
        trunk("classifier.2", new ReLU(backend));
        trunk("classifier.3", new Dropout(backend, 0.5f, config.seed() + 2));
        trunk("classifier.4", new Linear(backend, init, EMBEDDING, EMBEDDING, true));
        trunk("classifier.5", new ReLU(backend));
        embeddingDim(EMBEDDING);
        addHead("classifier.6", config.head(), init);
        numerics(config);
    }
}
