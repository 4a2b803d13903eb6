// torchvision ResNet-18/34/50 (v1.5) with torchvision's parameter names, shapes and init, plus SimCLR's width
// multiplier (every channel count x w, e.g. ResNet-50x4) and a small-input stem (3x3 stride-1 conv1, no
// max-pool, nn.Conv2d's default init) for 28-32 px images. input: (N, inChannels, H, W); embedding: (N, 8 * baseWidth * expansion * w) after
// global average pooling; head slot "fc" (fc.weight/fc.bias, or fc.0/fc.2 for the MLP head). Runs in the config's
// precision (FP32 or BF16_MIXED) and memory format (CHANNELS_LAST: NHWC inside, on CUDA).
package org.compress.engine.nn.models;

import org.compress.engine.backend.Backend;
import org.compress.engine.nn.AdaptiveAvgPool2d;
import org.compress.engine.nn.BasicBlock;
import org.compress.engine.nn.BatchNorm2d;
import org.compress.engine.nn.Conv2d;
import org.compress.engine.nn.Bottleneck;
import org.compress.engine.nn.Flatten;
import org.compress.engine.nn.Init;
import org.compress.engine.nn.MaxPool2d;
import org.compress.engine.nn.Module;
import org.compress.engine.nn.ReLU;
import org.compress.engine.nn.ResNetLayers;
import org.compress.engine.nn.Sequential;

public final class ResNet extends Network {
    private final boolean bottleneck;
    private final Init init;
    private int inplanes;

    public static ResNet resnet18(Backend backend, ModelConfig config) { return new ResNet(backend, config, false, 2, 2, 2, 2); }

    public static ResNet resnet34(Backend backend, ModelConfig config) { return new ResNet(backend, config, false, 3, 4, 6, 3); }

    public static ResNet resnet50(Backend backend, ModelConfig config) { return new ResNet(backend, config, true, 3, 4, 6, 3); }

    private ResNet(Backend backend, ModelConfig config, boolean bottleneck, int... blocks) {
        super(backend);
        this.bottleneck = bottleneck;
        this.init = new Init(config.seed());
        int w = config.widthMultiplier() * config.baseWidth();
        inplanes = w;
        if (config.smallInput()) {
            // A 3x3 conv that replaces torchvision's stem after construction (model.conv1 = nn.Conv2d(...), as the MoCo
            // CIFAR demo and scripts/training_parity_torch.py do) keeps nn.Conv2d's default init, not the ResNet loop's.
            trunk("conv1", new Conv2d(backend, init, config.inChannels(), inplanes, 3, 1, 1, 1, false));
        } else {
            trunk("conv1", ResNetLayers.kaiming(backend, init, config.inChannels(), inplanes, 7, 2, 3, 1));
        }
        trunk("bn1", new BatchNorm2d(backend, inplanes));
        trunk("relu", new ReLU(backend));
        if (!config.smallInput()) trunk("maxpool", new MaxPool2d(backend, 3, 2, 1));
        trunk("layer1", layer(w, blocks[0], 1));
        trunk("layer2", layer(2 * w, blocks[1], 2));
        trunk("layer3", layer(4 * w, blocks[2], 2));
        trunk("layer4", layer(8 * w, blocks[3], 2));
        trunk("avgpool", AdaptiveAvgPool2d.global(backend));
        trunk("flatten", new Flatten(backend));
        embeddingDim(8 * w * (bottleneck ? Bottleneck.EXPANSION : BasicBlock.EXPANSION));
        addHead("fc", config.head(), init);
        numerics(config);
    }

    private Sequential layer(int planes, int count, int stride) {
        Sequential s = new Sequential(backend);
        for (int i = 0; i < count; i++) {
            int st = i == 0 ? stride : 1;
            Module block = bottleneck ? new Bottleneck(backend, init, inplanes, planes, st) : new BasicBlock(backend, init, inplanes, planes, st);
            s.add(block);
            inplanes = planes * (bottleneck ? Bottleneck.EXPANSION : BasicBlock.EXPANSION);
        }
        return s;
    }
}
