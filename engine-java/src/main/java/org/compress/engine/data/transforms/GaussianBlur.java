// torchvision's gaussian_blur (tensor path): 1-d kernel exp(-x^2 / (2 sigma^2)) on x = linspace(-(k-1)/2,
// (k-1)/2, k), normalised; reflect padding of k/2 on each side; applied as the (separable) outer product.
package org.compress.engine.data.transforms;

import org.compress.engine.data.image.Image;

public final class GaussianBlur {
    private GaussianBlur() {}

    public static double[] kernel(int size, double sigma) {
        if (size < 1 || size % 2 == 0) throw new IllegalArgumentException("blur: expected an odd kernel size >= 1, found " + size);
        if (!(sigma > 0)) throw new IllegalArgumentException("blur: expected sigma > 0, found " + sigma);
        double[] k = new double[size];
        double half = (size - 1) * 0.5, sum = 0;
        for (int i = 0; i < size; i++) {
            double x = size == 1 ? 0 : -half + i * (2 * half / (size - 1));
            k[i] = Math.exp(-0.5 * (x / sigma) * (x / sigma));
            sum += k[i];
        }
        for (int i = 0; i < size; i++) k[i] /= sum;
        return k;
    }

    /** Reflect (without repeating the edge) index i into [0, n). */
    private static int reflect(int i, int n) {
        if (n == 1) return 0;
        int period = 2 * (n - 1);
        i = Math.floorMod(i, period);
        return i < n ? i : period - i;
    }

    public static Image blur(Image img, int size, double sigma) {
        double[] k = kernel(size, sigma);
        int pad = size / 2, h = img.height(), w = img.width();
        if (pad >= h || pad >= w) {
            throw new IllegalArgumentException("blur: reflect padding of " + pad + " needs an image larger than "
                    + pad + " on each side, found " + h + "x" + w + " (use a smaller kernel)");
        }
        float[] s = img.data(), out = new float[s.length];
        double[] tmp = new double[h * w];
        for (int c = 0; c < img.channels(); c++) {
            int base = c * h * w;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    double acc = 0;
                    for (int j = 0; j < size; j++) acc += k[j] * s[base + y * w + reflect(x + j - pad, w)];
                    tmp[y * w + x] = acc;
                }
            }
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    double acc = 0;
                    for (int j = 0; j < size; j++) acc += k[j] * tmp[reflect(y + j - pad, h) * w + x];
                    out[base + y * w + x] = (float) acc;
                }
            }
        }
        return new Image(img.channels(), h, w, out);
    }
}
