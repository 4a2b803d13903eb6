// torchvision ColorJitter: factors brightness ~ U[max(0, 1-b), 1+b], contrast and saturation likewise,
// hue ~ U[-h, h]; all four drawn, then applied in a random order (torch.randperm(4)); a range that is
// the identity ([1, 1], or hue [0, 0]) is left out, as torchvision sets it to None.
package org.compress.engine.data.transforms;

import java.util.SplittableRandom;
import org.compress.engine.data.image.Image;

public record ColorJitter(double brightness, double contrast, double saturation, double hue) {
    /** Drawn parameters: order[k] in 0..3 = brightness, contrast, saturation, hue; NaN = not applied. */
    public record Params(int[] order, double brightness, double contrast, double saturation, double hue) {}

    public ColorJitter {
        if (!(brightness >= 0 && contrast >= 0 && saturation >= 0 && hue >= 0 && hue <= 0.5)) {
            throw new IllegalArgumentException("ColorJitter: expected non-negative strengths and hue <= 0.5, found "
                    + brightness + ", " + contrast + ", " + saturation + ", " + hue);
        }
    }

    public Params sample(SplittableRandom rng) {
        int[] order = Rng.permutation(rng, 4);
        double b = brightness == 0 ? Double.NaN : Rng.uniform(rng, Math.max(0, 1 - brightness), 1 + brightness);
        double c = contrast == 0 ? Double.NaN : Rng.uniform(rng, Math.max(0, 1 - contrast), 1 + contrast);
        double s = saturation == 0 ? Double.NaN : Rng.uniform(rng, Math.max(0, 1 - saturation), 1 + saturation);
        double h = hue == 0 ? Double.NaN : Rng.uniform(rng, -hue, hue);
        return new Params(order, b, c, s, h);
    }

    public static Image apply(Image img, Params p) {
        for (int fn : p.order()) {
            switch (fn) {
                case 0 -> { if (!Double.isNaN(p.brightness())) img = ColorOps.adjustBrightness(img, p.brightness()); }
                case 1 -> { if (!Double.isNaN(p.contrast())) img = ColorOps.adjustContrast(img, p.contrast()); }
                case 2 -> { if (!Double.isNaN(p.saturation())) img = ColorOps.adjustSaturation(img, p.saturation()); }
                default -> { if (!Double.isNaN(p.hue())) img = ColorOps.adjustHue(img, p.hue()); }
            }
        }
        return img;
    }
}
