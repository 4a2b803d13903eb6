// The GPU path's form of the named recipes: each view is sampled as AugmentParams from the sample's generator
// with exactly the draws, in exactly the order, of the matching Recipes lambda, so for the same (seed, epoch,
// index) both paths apply the same augmentation. GpuRecipeTest holds the two in step (bitwise, via applyOnCpu).
package org.compress.engine.data.gpu;

import java.util.List;
import java.util.SplittableRandom;
import org.compress.engine.data.image.U8Image;
import org.compress.engine.data.transforms.ColorJitter;
import org.compress.engine.data.transforms.Normalize;
import org.compress.engine.data.transforms.RandomResizedCrop;
import org.compress.engine.data.transforms.Recipe;
import org.compress.engine.data.transforms.Recipes;
import org.compress.engine.data.transforms.Resize;
import org.compress.engine.data.transforms.Rng;

public final class GpuRecipe {
    /** Draws one view's parameters for a decoded height x width image. */
    @FunctionalInterface
    public interface ViewSampler {
        AugmentParams sample(SplittableRandom rng, int height, int width);
    }

    private final String name;
    private final int height, width;
    private final Normalize normalize;
    private final List<ViewSampler> views;
    private final Recipe cpuRecipe;

    private GpuRecipe(String name, int height, int width, Normalize normalize, List<ViewSampler> views, Recipe cpuRecipe) {
        if (normalize.mean().length != 3 && normalize.mean().length != 1) {
            throw new IllegalArgumentException("gpu recipe " + name + ": expected 1 or 3 normalize values, found " + normalize.mean().length);
        }
        this.name = name;
        this.height = height;
        this.width = width;
        this.normalize = normalize;
        this.views = List.copyOf(views);
        this.cpuRecipe = cpuRecipe;
    }

    /** The GPU form of Recipes.byName(name, size): compress, mocov2 or eval. */
    public static GpuRecipe byName(String name, int size) {
        return switch (name) {
            case "compress" -> compress(size);
            case "mocov2" -> mocov2(size);
            case "eval" -> eval(size * 256 / 224, size);
            default -> throw new IllegalArgumentException("no GPU form of recipe '" + name + "': expected compress, mocov2 or eval");
        };
    }

    /** Recipes.compress: RandomResizedCrop(size, (0.2, 1)) + flip. */
    public static GpuRecipe compress(int size) {
        RandomResizedCrop crop = RandomResizedCrop.of(size, Recipes.MOCO_SCALE_MIN, 1.0);
        ViewSampler view = (rng, h, w) -> {
            RandomResizedCrop.Box b = crop.sample(rng, h, w);
            return AugmentParams.resizedCrop(b.top(), b.left(), b.height(), b.width(), size, size, Rng.bernoulli(rng, 0.5));
        };
        return new GpuRecipe("compress", size, size, Normalize.IMAGENET, List.of(view), Recipes.compress(size));
    }

    /** Recipes.mocov2: per view crop, jitter (p 0.8), grayscale (p 0.2), blur (p 0.5), flip; two views. */
    public static GpuRecipe mocov2(int size) {
        RandomResizedCrop crop = RandomResizedCrop.of(size, Recipes.MOCO_SCALE_MIN, 1.0);
        ColorJitter jitter = new ColorJitter(0.4, 0.4, 0.4, 0.1);
        int kernel = Recipes.blurKernel(size);
        ViewSampler view = (rng, h, w) -> {
            RandomResizedCrop.Box b = crop.sample(rng, h, w);
            ColorJitter.Params j = Rng.bernoulli(rng, 0.8) ? jitter.sample(rng) : null;
            boolean gray = Rng.bernoulli(rng, 0.2);
            boolean blur = Rng.bernoulli(rng, 0.5);
            double sigma = blur ? Rng.uniform(rng, Recipes.BLUR_SIGMA_MIN, Recipes.BLUR_SIGMA_MAX) : Double.NaN;
            boolean flip = Rng.bernoulli(rng, 0.5);
            return AugmentParams.resizedCrop(b.top(), b.left(), b.height(), b.width(), size, size, flip)
                    .withColour(j, gray, blur ? kernel : 0, sigma);
        };
        return new GpuRecipe("mocov2", size, size, Normalize.IMAGENET, List.of(view, view), Recipes.mocov2(size));
    }

    /** Recipes.eval: shorter side to `resize`, centre crop `crop` (torchvision's rounding); deterministic. */
    public static GpuRecipe eval(int resize, int crop) {
        if (resize < crop) throw new IllegalArgumentException("eval: expected resize >= crop, found " + resize + " < " + crop);
        ViewSampler view = (rng, h, w) -> {
            int[] hw = Resize.shorterSideSize(h, w, resize);
            int top = (int) Math.rint((hw[0] - crop) / 2.0), left = (int) Math.rint((hw[1] - crop) / 2.0);
            return new AugmentParams(0, 0, h, w, hw[0], hw[1], top, left, false, null, false, 0, Double.NaN);
        };
        return new GpuRecipe("eval", crop, crop, Normalize.IMAGENET, List.of(view), Recipes.eval(resize, crop));
    }

    public String name() { return name; }

    public int views() { return views.size(); }

    public int height() { return height; }

    public int width() { return width; }

    public Normalize normalize() { return normalize; }

    /** The CPU recipe this mirrors (the reference and the fallback). */
    public Recipe cpuRecipe() { return cpuRecipe; }

    /** Every view's parameters, drawn in view order from one generator (as Recipe.apply draws them). */
    public AugmentParams[] sample(SplittableRandom rng, int imgH, int imgW) {
        AugmentParams[] out = new AugmentParams[views.size()];
        for (int v = 0; v < out.length; v++) out[v] = views.get(v).sample(rng, imgH, imgW);
        return out;
    }

    /** The CPU reference for given parameters: writes view v, normalised, into out[v] at offset (like Recipe.apply). */
    public void applyOnCpu(U8Image img, AugmentParams[] params, float[][] out, int offset) {
        if (params.length != views.size()) {
            throw new IllegalArgumentException("recipe " + name + ": expected " + views.size() + " view parameters, found " + params.length);
        }
        U8Image rgb = img.toRgb();
        for (int v = 0; v < params.length; v++) normalize.apply(params[v].applyOnCpu(rgb, height, width), out[v], offset);
    }

    @Override public String toString() { return name + " (GPU form, " + views.size() + " view(s) of 3x" + height + "x" + width + ")"; }
}
