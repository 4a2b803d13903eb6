// Bilinear resize with antialiasing, as torch's interpolate(mode="bilinear", antialias=True,
// align_corners=False) and PIL's Image.resize(BILINEAR) compute it: separable (width pass, then height
// pass); output pixel i takes the input pixels within `support` of its centre scale*(i + 0.5), weighted
// by the triangle filter 1 - |d| stretched by the scale when shrinking, normalised to sum 1.
// Launch shape of the CPU loops: one image, channel-major. Weights are computed in double.
package org.compress.engine.data.transforms;

import org.compress.engine.data.image.Image;
import org.compress.engine.data.image.U8Image;

public final class Resize {
    private Resize() {}

    /** Per output index: first input index, count, and the normalised weights (flattened, stride = max count). */
    record Weights(int[] start, int[] count, double[] w, int stride) {}

    static Weights weights(int in, int out) {
        double scale = (double) in / out;
        double support = scale >= 1.0 ? scale : 1.0;
        double invscale = scale >= 1.0 ? 1.0 / scale : 1.0;
        int stride = (int) Math.ceil(support) * 2 + 1;
        int[] start = new int[out], count = new int[out];
        double[] w = new double[out * stride];
        for (int i = 0; i < out; i++) {
            double center = scale * (i + 0.5);
            int xmin = Math.max((int) (center - support + 0.5), 0);   // (int) truncates like the C++ cast
            int xsize = Math.min((int) (center + support + 0.5), in) - xmin;
            double total = 0;
            for (int j = 0; j < xsize; j++) {
                double d = Math.abs((j + xmin - center + 0.5) * invscale);
                double v = d < 1.0 ? 1.0 - d : 0.0;
                w[i * stride + j] = v;
                total += v;
            }
            if (total != 0) for (int j = 0; j < xsize; j++) w[i * stride + j] /= total;
            start[i] = xmin;
            count[i] = xsize;
        }
        return new Weights(start, count, w, stride);
    }

    /** Resizes a float CHW image to outH x outW. */
    public static Image resize(Image src, int outH, int outW) {
        checkSize(outH, outW);
        return resizeRegion(src.data(), src.channels(), src.height(), src.width(), 0, 0, src.height(), src.width(), outH, outW, false);
    }

    /**
     * Crop (top, left, h, w) of a uint8 HWC image, resized to outH x outW, as float CHW in [0, 1]
     * (ToTensor folded in: resize is linear, so dividing by 255 first or last differs only by rounding).
     */
    public static Image resizedCrop(U8Image src, int top, int left, int h, int w, int outH, int outW) {
        checkSize(outH, outW);
        if (top < 0 || left < 0 || h < 1 || w < 1 || top + h > src.height() || left + w > src.width()) {
            throw new IllegalArgumentException("crop (top " + top + ", left " + left + ", " + h + "x" + w
                    + ") outside a " + src.height() + "x" + src.width() + " image");
        }
        return resizeRegion(src.data(), src.channels(), src.height(), src.width(), top, left, h, w, outH, outW, true);
    }

    private static void checkSize(int outH, int outW) {
        if (outH < 1 || outW < 1) throw new IllegalArgumentException("resize: expected an output size >= 1, found " + outH + "x" + outW);
    }

    // src is either float[] CHW or byte[] HWC (u8 == true); the region is (top, left, h, w).
    private static Image resizeRegion(Object src, int channels, int srcH, int srcW, int top, int left, int h, int w,
                                      int outH, int outW, boolean u8) {
        float[] f = u8 ? null : (float[]) src;
        byte[] b = u8 ? (byte[]) src : null;
        // Width pass into tmp (C, h, outW); skipped weights are the identity when the width is unchanged.
        float[] tmp = new float[channels * h * outW];
        Weights wx = weights(w, outW);
        if (u8) horizontalU8(b, channels, srcW, top, left, h, wx, outW, tmp);
        else {
            for (int c = 0; c < channels; c++) {
                for (int y = 0; y < h; y++) {
                    int rowBase = (c * srcH + top + y) * srcW + left;
                    for (int ox = 0; ox < outW; ox++) {
                        int s0 = wx.start[ox], n = wx.count[ox], base = ox * wx.stride;
                        double acc = 0;
                        for (int j = 0; j < n; j++) acc += wx.w[base + j] * f[rowBase + s0 + j];
                        tmp[(c * h + y) * outW + ox] = (float) acc;
                    }
                }
            }
        }
        if (h == outH) return new Image(channels, outH, outW, tmp);
        Weights wy = weights(h, outH);
        float[] out = new float[channels * outH * outW];
        double[] row = new double[outW];
        for (int c = 0; c < channels; c++) {
            for (int oy = 0; oy < outH; oy++) {
                java.util.Arrays.fill(row, 0);
                int s0 = wy.start[oy], n = wy.count[oy], base = oy * wy.stride;
                for (int j = 0; j < n; j++) {
                    double wt = wy.w[base + j];
                    int rowStart = (c * h + s0 + j) * outW;
                    for (int x = 0; x < outW; x++) row[x] += wt * tmp[rowStart + x];
                }
                int o = (c * outH + oy) * outW;
                for (int x = 0; x < outW; x++) out[o + x] = (float) row[x];
            }
        }
        return new Image(channels, outH, outW, out);
    }

    // The uint8 HWC width pass: all channels of a pixel per tap (they are adjacent in memory), /255 folded in.
    private static void horizontalU8(byte[] b, int channels, int srcW, int top, int left, int h, Weights wx, int outW, float[] tmp) {
        if (channels == 3) {
            horizontalRgb(b, srcW, top, left, h, wx, outW, tmp);
            return;
        }
        double[] acc = new double[channels];
        for (int y = 0; y < h; y++) {
            int rowBase = ((top + y) * srcW + left) * channels;
            for (int ox = 0; ox < outW; ox++) {
                int s0 = wx.start[ox], n = wx.count[ox], base = ox * wx.stride;
                java.util.Arrays.fill(acc, 0);
                int p = rowBase + s0 * channels;
                for (int j = 0; j < n; j++, p += channels) {
                    double wt = wx.w[base + j];
                    for (int c = 0; c < channels; c++) acc[c] += wt * (b[p + c] & 0xff);
                }
                for (int c = 0; c < channels; c++) tmp[(c * h + y) * outW + ox] = (float) (acc[c] / 255.0);
            }
        }
    }

    private static void horizontalRgb(byte[] b, int srcW, int top, int left, int h, Weights wx, int outW, float[] tmp) {
        int plane = h * outW;
        for (int y = 0; y < h; y++) {
            int rowBase = ((top + y) * srcW + left) * 3;
            for (int ox = 0; ox < outW; ox++) {
                int s0 = wx.start[ox], n = wx.count[ox], base = ox * wx.stride;
                double r = 0, g = 0, bl = 0;
                int p = rowBase + s0 * 3;
                for (int j = 0; j < n; j++, p += 3) {
                    double wt = wx.w[base + j];
                    r += wt * (b[p] & 0xff);
                    g += wt * (b[p + 1] & 0xff);
                    bl += wt * (b[p + 2] & 0xff);
                }
                int o = y * outW + ox;
                tmp[o] = (float) (r / 255.0);
                tmp[plane + o] = (float) (g / 255.0);
                tmp[2 * plane + o] = (float) (bl / 255.0);
            }
        }
    }

    /**
     * torchvision Resize(size) with one int: the shorter side becomes {@code size}, the longer
     * int(size * long / short) (truncated), keeping the orientation. Returns {outH, outW}.
     */
    public static int[] shorterSideSize(int height, int width, int size) {
        if (size < 1) throw new IllegalArgumentException("resize: expected size >= 1, found " + size);
        if (width <= height) return new int[] {(int) ((long) size * height / width), size};
        return new int[] {size, (int) ((long) size * width / height)};
    }
}
