// How to build a model: input channels, the small-input stem (for 28-32 px images: ResNet gets a 3x3 stride-1
// conv1 and no max-pool, MobileNetV2 a stride-1 first conv), the width multiplier (ResNet only: 2 or 4 for
// SimCLR's wide ResNet-50s), the head, and the seed of the weight initialisation.
package org.compress.engine.nn.models;

public record ModelConfig(int inChannels, boolean smallInput, int widthMultiplier, Head head, long seed) {
    public ModelConfig {
        if (inChannels < 1 || widthMultiplier < 1) {
            throw new IllegalArgumentException("model: expected inChannels >= 1 and widthMultiplier >= 1, found " + inChannels
                    + ", " + widthMultiplier);
        }
    }

    /** torchvision's defaults: RGB, ImageNet stem, width 1, a classifier over numClasses, seed 0. */
    public static ModelConfig imagenet(int numClasses) { return new ModelConfig(3, false, 1, Head.linear(numClasses), 0); }

    /** Small images (e.g. Fashion-MNIST 28 px: inChannels 1) with no head: the network outputs its embedding. */
    public static ModelConfig smallImages(int inChannels) { return new ModelConfig(inChannels, true, 1, Head.none(), 0); }

    public ModelConfig withHead(Head h) { return new ModelConfig(inChannels, smallInput, widthMultiplier, h, seed); }

    public ModelConfig withWidth(int w) { return new ModelConfig(inChannels, smallInput, w, head, seed); }

    public ModelConfig withSeed(long s) { return new ModelConfig(inChannels, smallInput, widthMultiplier, head, s); }

    public ModelConfig withInChannels(int c) { return new ModelConfig(c, smallInput, widthMultiplier, head, seed); }
}
