// Normalize: (x - mean[c]) / std[c] per channel, in float32 like torchvision's sub_/div_.
package org.compress.engine.data.transforms;

import java.util.Arrays;
import org.compress.engine.data.image.Image;

public record Normalize(float[] mean, float[] std) {
    public static final Normalize IMAGENET = new Normalize(new float[] {0.485f, 0.456f, 0.406f}, new float[] {0.229f, 0.224f, 0.225f});
    /** Fashion-MNIST training-set statistics (the customary 0.2860 / 0.3530). */
    public static final Normalize FASHION_MNIST = new Normalize(new float[] {0.2860f}, new float[] {0.3530f});

    public Normalize {
        if (mean.length != std.length || mean.length == 0) {
            throw new IllegalArgumentException("normalize: mean and std need one value per channel, found "
                    + Arrays.toString(mean) + " / " + Arrays.toString(std));
        }
        for (float s : std) if (!(s > 0)) throw new IllegalArgumentException("normalize: std must be > 0, found " + Arrays.toString(std));
    }

    /** Writes the normalised image into dst at dstOffset (the batch slot), CHW. */
    public void apply(Image img, float[] dst, int dstOffset) {
        int c = img.channels();
        float[] m = mean.length == 1 ? filled(mean[0], c) : mean, sd = std.length == 1 ? filled(std[0], c) : std;
        if (m.length != c) throw new IllegalArgumentException("normalize: " + mean.length + " means for a " + c + "-channel image");
        int plane = img.plane();
        float[] s = img.data();
        for (int ch = 0; ch < c; ch++) {
            float mu = m[ch], sigma = sd[ch];
            int o = ch * plane;
            for (int i = 0; i < plane; i++) dst[dstOffset + o + i] = (s[o + i] - mu) / sigma;
        }
    }

    public Image apply(Image img) {
        float[] out = new float[img.data().length];
        apply(img, out, 0);
        return new Image(img.channels(), img.height(), img.width(), out);
    }

    private static float[] filled(float v, int n) {
        float[] a = new float[n];
        Arrays.fill(a, v);
        return a;
    }
}
