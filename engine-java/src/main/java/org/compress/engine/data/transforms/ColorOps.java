// Colour adjustments with torchvision's tensor-path definitions on float images in [0, 1], in float32 and
// in the same operation order as torch so results agree to a few ulps:
//   blend(a, b, r) = clamp(r*a + (1-r)*b, 0, 1); brightness: blend(img, 0, f); contrast: blend(img,
//   mean(gray(img)), f); saturation: blend(img, gray(img), f); hue: shift H in HSV by f (mod 1);
//   gray = 0.2989 R + 0.587 G + 0.114 B (torchvision's tensor weights; PIL uses 0.299 in fixed point).
package org.compress.engine.data.transforms;

import org.compress.engine.data.image.Image;

public final class ColorOps {
    private ColorOps() {}

    private static float clamp01(float v) { return v < 0f ? 0f : (v > 1f ? 1f : v); }

    public static Image adjustBrightness(Image img, double factor) {
        checkFactor("brightness", factor);
        float r = (float) factor, r2 = (float) (1.0 - factor);
        float[] s = img.data(), out = new float[s.length];
        for (int i = 0; i < s.length; i++) out[i] = clamp01(r * s[i] + r2 * 0f);
        return new Image(img.channels(), img.height(), img.width(), out);
    }

    public static Image adjustContrast(Image img, double factor) {
        checkFactor("contrast", factor);
        float[] gray = img.channels() == 3 ? grayPlane(img) : img.data();
        double sum = 0;
        for (float g : gray) sum += g;
        float mean = (float) (sum / gray.length);
        float r = (float) factor, r2 = (float) (1.0 - factor);
        float[] s = img.data(), out = new float[s.length];
        for (int i = 0; i < s.length; i++) out[i] = clamp01(r * s[i] + r2 * mean);
        return new Image(img.channels(), img.height(), img.width(), out);
    }

    public static Image adjustSaturation(Image img, double factor) {
        checkFactor("saturation", factor);
        if (img.channels() == 1) return img;   // torchvision: a 1-channel image is returned unchanged
        float[] gray = grayPlane(img);
        float r = (float) factor, r2 = (float) (1.0 - factor);
        float[] s = img.data(), out = new float[s.length];
        int plane = img.plane();
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < plane; i++) out[c * plane + i] = clamp01(r * s[c * plane + i] + r2 * gray[i]);
        }
        return new Image(3, img.height(), img.width(), out);
    }

    /** rgb_to_grayscale with {@code outChannels} copies of the gray plane (1 or 3). */
    public static Image grayscale(Image img, int outChannels) {
        if (outChannels != 1 && outChannels != 3) throw new IllegalArgumentException("grayscale: expected 1 or 3 output channels, found " + outChannels);
        float[] gray = img.channels() == 3 ? grayPlane(img) : img.data().clone();
        if (outChannels == 1) return new Image(1, img.height(), img.width(), gray);
        float[] out = new float[3 * gray.length];
        for (int c = 0; c < 3; c++) System.arraycopy(gray, 0, out, c * gray.length, gray.length);
        return new Image(3, img.height(), img.width(), out);
    }

    static float[] grayPlane(Image img) {
        if (img.channels() != 3) throw new IllegalArgumentException("grayscale: expected 3 channels, found " + img.channels());
        int plane = img.plane();
        float[] s = img.data(), g = new float[plane];
        for (int i = 0; i < plane; i++) g[i] = 0.2989f * s[i] + 0.587f * s[plane + i] + 0.114f * s[2 * plane + i];
        return g;
    }

    /** hue_factor in [-0.5, 0.5]: torchvision's _rgb2hsv, shift, _hsv2rgb, in float32. */
    public static Image adjustHue(Image img, double hueFactor) {
        if (!(hueFactor >= -0.5 && hueFactor <= 0.5)) {
            throw new IllegalArgumentException("hue: expected a factor in [-0.5, 0.5], found " + hueFactor);
        }
        if (img.channels() == 1) return img;
        int plane = img.plane();
        float[] s = img.data(), out = new float[s.length];
        float hf = (float) hueFactor;
        for (int i = 0; i < plane; i++) {
            float r = s[i], g = s[plane + i], b = s[2 * plane + i];
            float maxc = Math.max(r, Math.max(g, b)), minc = Math.min(r, Math.min(g, b));
            boolean eqc = maxc == minc;
            float cr = maxc - minc;
            float sat = cr / (eqc ? 1f : maxc);
            float crDiv = eqc ? 1f : cr;
            float rc = (maxc - r) / crDiv, gc = (maxc - g) / crDiv, bc = (maxc - b) / crDiv;
            float hr = maxc == r ? bc - gc : 0f;
            float hg = (maxc == g && maxc != r) ? 2.0f + rc - bc : 0f;
            float hb = (maxc != g && maxc != r) ? 4.0f + gc - rc : 0f;
            float h = hr + hg + hb;
            h = (h / 6.0f + 1.0f) % 1.0f;              // torch.fmod; the argument is positive
            h = floorMod1(h + hf);                       // Python/torch % 1.0 (sign of the divisor)
            // _hsv2rgb
            float h6 = h * 6.0f;
            float fi = (float) Math.floor(h6);
            float f = h6 - fi;
            int sector = Math.floorMod((int) fi, 6);
            float v = maxc;
            float p = clamp01(v * (1.0f - sat));
            float q = clamp01(v * (1.0f - sat * f));
            float t = clamp01(v * (1.0f - sat * (1.0f - f)));
            float ro, go, bo;
            switch (sector) {
                case 0 -> { ro = v; go = t; bo = p; }
                case 1 -> { ro = q; go = v; bo = p; }
                case 2 -> { ro = p; go = v; bo = t; }
                case 3 -> { ro = p; go = q; bo = v; }
                case 4 -> { ro = t; go = p; bo = v; }
                default -> { ro = v; go = p; bo = q; }
            }
            out[i] = ro;
            out[plane + i] = go;
            out[2 * plane + i] = bo;
        }
        return new Image(3, img.height(), img.width(), out);
    }

    private static float floorMod1(float x) {
        float m = x % 1.0f;
        return m < 0 ? m + 1.0f : m;
    }

    private static void checkFactor(String what, double factor) {
        if (!(factor >= 0) || Double.isInfinite(factor)) {
            throw new IllegalArgumentException(what + ": expected a non-negative factor, found " + factor);
        }
    }
}
