// How to build a model: input channels, the small-input stem (for 28-32 px images: ResNet gets a 3x3 stride-1
// conv1 and no max-pool, MobileNetV2 a stride-1 first conv), the width multiplier (ResNet only: 2 or 4 for
// SimCLR's wide ResNet-50s), the ResNet base width (64 in torchvision; smaller for fast CPU runs and small
// fixtures: every stage's channels scale with it), the head, the seed of the weight initialisation, and the
// numerics: precision (FP32 or BF16_MIXED) and the memory format activations use inside the network
// (CHANNELS_LAST = NHWC: cuDNN's tensor-core layout, and the fast CPU backend's oneDNN layout for FP32; the
// plain-Java reference CPU ops take CONTIGUOUS only; Backend.preferredFormat says which a backend wants).
package org.compress.engine.nn.models;

import org.compress.engine.nn.Precision;
import org.compress.engine.tensor.MemoryFormat;

public record ModelConfig(int inChannels, boolean smallInput, int widthMultiplier, Head head, long seed, int baseWidth,
                          Precision precision, MemoryFormat memoryFormat) {
    public ModelConfig {
        if (baseWidth < 1) throw new IllegalArgumentException("model: expected baseWidth >= 1, found " + baseWidth);
        if (inChannels < 1 || widthMultiplier < 1) {
            throw new IllegalArgumentException("model: expected inChannels >= 1 and widthMultiplier >= 1, found " + inChannels
                    + ", " + widthMultiplier);
        }
        if (precision == null || memoryFormat == null) {
            throw new IllegalArgumentException("model: expected a precision and a memory format, found " + precision + ", " + memoryFormat);
        }
    }

    /** FP32, CONTIGUOUS (NCHW). */
    public ModelConfig(int inChannels, boolean smallInput, int widthMultiplier, Head head, long seed, int baseWidth) {
        this(inChannels, smallInput, widthMultiplier, head, seed, baseWidth, Precision.FP32, MemoryFormat.CONTIGUOUS);
    }

    /** torchvision's defaults: RGB, ImageNet stem, width 1, a classifier over numClasses, seed 0. */
    public static ModelConfig imagenet(int numClasses) { return new ModelConfig(3, false, 1, Head.linear(numClasses), 0, 64); }

    /** Small images (e.g. Fashion-MNIST 28 px: inChannels 1) with no head: the network outputs its embedding. */
    public static ModelConfig smallImages(int inChannels) { return new ModelConfig(inChannels, true, 1, Head.none(), 0, 64); }

    public ModelConfig withHead(Head h) {
        return new ModelConfig(inChannels, smallInput, widthMultiplier, h, seed, baseWidth, precision, memoryFormat);
    }

    public ModelConfig withWidth(int w) {
        return new ModelConfig(inChannels, smallInput, w, head, seed, baseWidth, precision, memoryFormat);
    }

    public ModelConfig withSeed(long s) {
        return new ModelConfig(inChannels, smallInput, widthMultiplier, head, s, baseWidth, precision, memoryFormat);
    }

    public ModelConfig withInChannels(int c) {
        return new ModelConfig(c, smallInput, widthMultiplier, head, seed, baseWidth, precision, memoryFormat);
    }

    /** ResNet channels of the first stage (torchvision: 64); later stages double it as usual. */
    public ModelConfig withBaseWidth(int b) {
        return new ModelConfig(inChannels, smallInput, widthMultiplier, head, seed, b, precision, memoryFormat);
    }

    public ModelConfig withPrecision(Precision p) {
        return new ModelConfig(inChannels, smallInput, widthMultiplier, head, seed, baseWidth, p, memoryFormat);
    }

    /** The layout activations use inside the network; the input may come in either (the network converts it). */
    public ModelConfig withMemoryFormat(MemoryFormat f) {
        return new ModelConfig(inChannels, smallInput, widthMultiplier, head, seed, baseWidth, precision, f);
    }
}
