// The named recipes. compress: the official CompRess student/teacher input (RandomResizedCrop + flip, one
// view shared by teacher and student). mocov2: two independent views with MoCo v2's full set. eval: resize
// the shorter side to 256, centre crop 224. plain: ToTensor + Normalize only (MNIST / CIFAR at native size).
package org.compress.engine.data.transforms;

import java.util.List;
import java.util.SplittableRandom;
import org.compress.engine.data.image.Image;
import org.compress.engine.data.image.U8Image;

public final class Recipes {
    private Recipes() {}

    /** MoCo v2 / CompRess crop scale. */
    public static final double MOCO_SCALE_MIN = 0.2;
    /** MoCo v2 blur: sigma ~ U[0.1, 2.0] with probability 0.5. */
    public static final double BLUR_SIGMA_MIN = 0.1, BLUR_SIGMA_MAX = 2.0;

    public static Recipe byName(String name, int size) {
        return switch (name) {
            case "compress" -> compress(size);
            case "mocov2" -> mocov2(size);
            case "eval" -> eval(size * 256 / 224, size);
            default -> throw new IllegalArgumentException("unknown recipe '" + name + "': expected compress, mocov2 or eval");
        };
    }

    /** RandomResizedCrop(size, scale=(0.2, 1)) + RandomHorizontalFlip + Normalize(ImageNet); 1 view. */
    public static Recipe compress(int size) {
        RandomResizedCrop crop = RandomResizedCrop.of(size, MOCO_SCALE_MIN, 1.0);
        return new Recipe("compress", 3, size, size, Normalize.IMAGENET, List.of((img, rng) -> flip(crop.apply(img, rng), rng)));
    }

    /**
     * MoCo v2, per view: RandomResizedCrop(size, (0.2, 1)); ColorJitter(0.4, 0.4, 0.4, 0.1) with p 0.8;
     * RandomGrayscale p 0.2; Gaussian blur sigma ~ U[0.1, 2] with p 0.5; flip; Normalize. MoCo blurs with
     * PIL's ImageFilter.GaussianBlur (a box-filter approximation); we use torchvision's exact Gaussian with
     * an odd kernel of about 10% of the side (23 at 224), as SimCLR/BYOL do.
     */
    public static Recipe mocov2(int size) {
        RandomResizedCrop crop = RandomResizedCrop.of(size, MOCO_SCALE_MIN, 1.0);
        ColorJitter jitter = new ColorJitter(0.4, 0.4, 0.4, 0.1);
        int kernel = blurKernel(size);
        Recipe.View view = (img, rng) -> {
            Image x = crop.apply(img, rng);
            if (Rng.bernoulli(rng, 0.8)) x = ColorJitter.apply(x, jitter.sample(rng));
            if (Rng.bernoulli(rng, 0.2)) x = ColorOps.grayscale(x, x.channels());
            if (Rng.bernoulli(rng, 0.5)) x = GaussianBlur.blur(x, kernel, Rng.uniform(rng, BLUR_SIGMA_MIN, BLUR_SIGMA_MAX));
            return flip(x, rng);
        };
        return new Recipe("mocov2", 3, size, size, Normalize.IMAGENET, List.of(view, view));
    }

    /** Odd kernel of ~10% of the side, at least 3, and small enough for reflect padding. */
    public static int blurKernel(int size) {
        int k = Math.max(3, (int) (0.1 * size) | 1);
        while (k / 2 >= size && k > 1) k -= 2;
        return k;
    }

    /** Resize(resize) (shorter side) + CenterCrop(crop) + Normalize(ImageNet); deterministic. */
    public static Recipe eval(int resize, int crop) {
        return new Recipe("eval", 3, crop, crop, Normalize.IMAGENET, List.of((img, rng) -> {
            int[] hw = Resize.shorterSideSize(img.height(), img.width(), resize);
            Image x = Resize.resizedCrop(img, 0, 0, img.height(), img.width(), hw[0], hw[1]);
            return Geometry.centerCrop(x, crop, crop);
        }));
    }

    /** ToTensor + Normalize at the dataset's own size (every image must be height x width). */
    public static Recipe plain(int channels, int height, int width, Normalize normalize) {
        return new Recipe("plain", channels, height, width, normalize, List.of((img, rng) -> {
            if (img.height() != height || img.width() != width) {
                throw new IllegalArgumentException("plain recipe: expected " + height + "x" + width + " images, found "
                        + img.height() + "x" + img.width() + " (use a resizing recipe)");
            }
            return img.toFloat();
        }));
    }

    private static Image flip(Image x, SplittableRandom rng) {
        return Rng.bernoulli(rng, 0.5) ? Geometry.hflip(x) : x;
    }

    static U8Image identity(U8Image x) { return x; }
}
