// A named augmentation recipe: turns one decoded image into `views` normalised float CHW tensors of a
// fixed shape, drawing every random parameter from the sample's own generator.
package org.compress.engine.data.transforms;

import java.util.List;
import java.util.SplittableRandom;
import org.compress.engine.data.image.Image;
import org.compress.engine.data.image.U8Image;

public final class Recipe {
    /** One view: decoded image + generator -> float CHW in [0, 1], before Normalize. */
    @FunctionalInterface
    public interface View {
        Image apply(U8Image img, SplittableRandom rng);
    }

    private final String name;
    private final int channels, height, width;
    private final List<View> views;
    private final Normalize normalize;

    public Recipe(String name, int channels, int height, int width, Normalize normalize, List<View> views) {
        if (channels != 1 && channels != 3) throw new IllegalArgumentException("recipe " + name + ": expected 1 or 3 channels, found " + channels);
        if (views.isEmpty()) throw new IllegalArgumentException("recipe " + name + ": no views");
        this.name = name;
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.normalize = normalize;
        this.views = List.copyOf(views);
    }

    public String name() { return name; }

    public int views() { return views.size(); }

    public int channels() { return channels; }

    public int height() { return height; }

    public int width() { return width; }

    /** Floats per view of one sample: C * H * W. */
    public int sampleFloats() { return channels * height * width; }

    /**
     * Writes view v of {@code img} into out[v] at {@code offset} (a batch slot), normalised.
     * Gray inputs are replicated to 3 channels (PIL's convert("RGB")) or RGB reduced to 1, as the recipe asks.
     */
    public void apply(U8Image img, SplittableRandom rng, float[][] out, int offset) {
        U8Image src = channels == 3 ? img.toRgb() : img.toGray();
        for (int v = 0; v < views.size(); v++) {
            Image x = views.get(v).apply(src, rng);
            if (x.channels() != channels || x.height() != height || x.width() != width) {
                throw new IllegalStateException("recipe " + name + " view " + v + " made a " + x.channels() + "x" + x.height()
                        + "x" + x.width() + " image, expected " + channels + "x" + height + "x" + width);
            }
            normalize.apply(x, out[v], offset);
        }
    }

    @Override public String toString() {
        return name + " (" + views.size() + " view" + (views.size() == 1 ? "" : "s") + " of " + channels + "x" + height + "x" + width + ")";
    }
}
