// How to build a model: input channels, the small-input stem (for 28-32 px images: ResNet gets a 3x3 stride-1
// conv1 and no max-pool, MobileNetV2 a stride-1 first conv), the width multiplier (ResNet only: 2 or 4 for
// SimCLR's wide ResNet-50s), the ResNet base width (64 in torchvision; smaller for fast CPU runs and small
// fixtures: every stage's channels scale with it), the head, and the seed of the weight initialisation.
package org.compress.engine.nn.models;

public record ModelConfig(int inChannels, boolean smallInput, int widthMultiplier, Head head, long seed, int baseWidth) {
    public ModelConfig {
        if (baseWidth < 1) throw new IllegalArgumentException("model: expected baseWidth >= 1, found " + baseWidth);
        if (inChannels < 1 || widthMultiplier < 1) {
            throw new IllegalArgumentException("model: expected inChannels >= 1 and widthMultiplier >= 1, found " + inChannels
                    + ", " + widthMultiplier);
        }
    }

    /** torchvision's defaults: RGB, ImageNet stem, width 1, a classifier over numClasses, seed 0. */
    public static ModelConfig imagenet(int numClasses) { return new ModelConfig(3, false, 1, Head.linear(numClasses), 0, 64); }

    /** Small images (e.g. Fashion-MNIST 28 px: inChannels 1) with no head: the network outputs its embedding. */
    public static ModelConfig smallImages(int inChannels) { return new ModelConfig(inChannels, true, 1, Head.none(), 0, 64); }

    public ModelConfig withHead(Head h) { return new ModelConfig(inChannels, smallInput, widthMultiplier, h, seed, baseWidth); }

    public ModelConfig withWidth(int w) { return new ModelConfig(inChannels, smallInput, w, head, seed, baseWidth); }

    public ModelConfig withSeed(long s) { return new ModelConfig(inChannels, smallInput, widthMultiplier, head, s, baseWidth); }

    public ModelConfig withInChannels(int c) { return new ModelConfig(c, smallInput, widthMultiplier, head, seed, baseWidth); }

    /** ResNet channels of the first stage (torchvision: 64); later stages double it as usual. */
    public ModelConfig withBaseWidth(int b) { return new ModelConfig(inChannels, smallInput, widthMultiplier, head, seed, b); }
}
