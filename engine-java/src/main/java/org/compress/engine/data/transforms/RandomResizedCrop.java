// torchvision RandomResizedCrop: up to 10 tries of (area fraction ~ U(scale), log aspect ~ U(log ratio)),
// w = round(sqrt(area * aspect)), h = round(sqrt(area / aspect)) (Python round: half to even), accepted if
// it fits, placed uniformly; after 10 misses, a centre crop clamped to the ratio range. Then resize.
package org.compress.engine.data.transforms;

import java.util.SplittableRandom;
import org.compress.engine.data.image.Image;
import org.compress.engine.data.image.U8Image;

public record RandomResizedCrop(int height, int width, double scaleMin, double scaleMax, double ratioMin, double ratioMax) {
    public static final double[] DEFAULT_SCALE = {0.08, 1.0};
    public static final double[] DEFAULT_RATIO = {3.0 / 4.0, 4.0 / 3.0};

    /** The crop window; {@code fallback} says the 10 tries all missed. */
    public record Box(int top, int left, int height, int width, boolean fallback) {}

    public RandomResizedCrop {
        if (height < 1 || width < 1) throw new IllegalArgumentException("RandomResizedCrop: expected a size >= 1, found " + height + "x" + width);
        if (!(scaleMin > 0 && scaleMin <= scaleMax) || !(ratioMin > 0 && ratioMin <= ratioMax)) {
            throw new IllegalArgumentException("RandomResizedCrop: expected 0 < min <= max for scale and ratio, found scale ["
                    + scaleMin + ", " + scaleMax + "] ratio [" + ratioMin + ", " + ratioMax + "]");
        }
    }

    public static RandomResizedCrop of(int size, double scaleMin, double scaleMax) {
        return new RandomResizedCrop(size, size, scaleMin, scaleMax, DEFAULT_RATIO[0], DEFAULT_RATIO[1]);
    }

    public Box sample(SplittableRandom rng, int imgH, int imgW) {
        double area = (double) imgH * imgW;
        double logLo = Math.log(ratioMin), logHi = Math.log(ratioMax);
        for (int attempt = 0; attempt < 10; attempt++) {
            double target = area * Rng.uniform(rng, scaleMin, scaleMax);
            double aspect = Math.exp(Rng.uniform(rng, logLo, logHi));
            int w = (int) Math.rint(Math.sqrt(target * aspect));
            int h = (int) Math.rint(Math.sqrt(target / aspect));
            if (w > 0 && w <= imgW && h > 0 && h <= imgH) {
                int top = rng.nextInt(imgH - h + 1);
                int left = rng.nextInt(imgW - w + 1);
                return new Box(top, left, h, w, false);
            }
        }
        double inRatio = (double) imgW / imgH;
        int w, h;
        if (inRatio < ratioMin) {
            w = imgW;
            h = (int) Math.rint(w / ratioMin);
        } else if (inRatio > ratioMax) {
            h = imgH;
            w = (int) Math.rint(h * ratioMax);
        } else {
            w = imgW;
            h = imgH;
        }
        return new Box((imgH - h) / 2, (imgW - w) / 2, h, w, true);
    }

    public Image apply(U8Image img, SplittableRandom rng) {
        Box b = sample(rng, img.height(), img.width());
        return Resize.resizedCrop(img, b.top(), b.left(), b.height(), b.width(), height, width);
    }
}
