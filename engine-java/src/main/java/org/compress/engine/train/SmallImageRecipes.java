// Augmentation recipes for small single- or three-channel images (Fashion-MNIST, CIFAR) at their native size:
// the CompRess view (RandomResizedCrop scale (0.2, 1) + flip, one view shared by teacher and student), a MoCo v2
// pair (crop, brightness/contrast jitter p 0.8, blur p 0.5 at a 3-pixel kernel, flip; no hue/saturation on gray),
// and the plain evaluation view. Every random draw comes from the sample's own generator.
package org.compress.engine.train;

import java.util.List;
import org.compress.engine.data.image.Image;
import org.compress.engine.data.transforms.ColorJitter;
import org.compress.engine.data.transforms.GaussianBlur;
import org.compress.engine.data.transforms.Geometry;
import org.compress.engine.data.transforms.Normalize;
import org.compress.engine.data.transforms.RandomResizedCrop;
import org.compress.engine.data.transforms.Recipe;
import org.compress.engine.data.transforms.Recipes;
import org.compress.engine.data.transforms.Rng;

public final class SmallImageRecipes {
    private SmallImageRecipes() {}

    public static Recipe compress(int channels, int size, Normalize normalize) {
        RandomResizedCrop crop = RandomResizedCrop.of(size, Recipes.MOCO_SCALE_MIN, 1.0);
        return new Recipe("compress-small", channels, size, size, normalize, List.of((img, rng) -> {
            Image x = crop.apply(img, rng);
            return Rng.bernoulli(rng, 0.5) ? Geometry.hflip(x) : x;
        }));
    }

    public static Recipe moco(int channels, int size, Normalize normalize) {
        RandomResizedCrop crop = RandomResizedCrop.of(size, Recipes.MOCO_SCALE_MIN, 1.0);
        ColorJitter jitter = channels == 3 ? new ColorJitter(0.4, 0.4, 0.4, 0.1) : new ColorJitter(0.4, 0.4, 0, 0);
        int kernel = Math.max(3, Recipes.blurKernel(size));
        Recipe.View view = (img, rng) -> {
            Image x = crop.apply(img, rng);
            if (Rng.bernoulli(rng, 0.8)) x = ColorJitter.apply(x, jitter.sample(rng));
            if (Rng.bernoulli(rng, 0.5)) x = GaussianBlur.blur(x, kernel, Rng.uniform(rng, Recipes.BLUR_SIGMA_MIN, Recipes.BLUR_SIGMA_MAX));
            return Rng.bernoulli(rng, 0.5) ? Geometry.hflip(x) : x;
        };
        return new Recipe("moco-small", channels, size, size, normalize, List.of(view, view));
    }

    public static Recipe eval(int channels, int size, Normalize normalize) {
        return Recipes.plain(channels, size, size, normalize);
    }
}
