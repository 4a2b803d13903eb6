// Crops and flips on float CHW images, as torchvision.transforms.functional (tensor path) defines them.
package org.compress.engine.data.transforms;

import org.compress.engine.data.image.Image;

public final class Geometry {
    private Geometry() {}

    /** Rows [top, top+h) x columns [left, left+w); parts outside the image are zero (torchvision F.crop pads). */
    public static Image crop(Image src, int top, int left, int h, int w) {
        if (h < 1 || w < 1) throw new IllegalArgumentException("crop: expected a size >= 1, found " + h + "x" + w);
        int c = src.channels(), sh = src.height(), sw = src.width();
        float[] s = src.data();
        float[] out = new float[c * h * w];
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < h; y++) {
                int sy = top + y;
                if (sy < 0 || sy >= sh) continue;
                for (int x = 0; x < w; x++) {
                    int sx = left + x;
                    if (sx >= 0 && sx < sw) out[(ch * h + y) * w + x] = s[(ch * sh + sy) * sw + sx];
                }
            }
        }
        return new Image(c, h, w, out);
    }

    /** torchvision center_crop: offsets int(round((H - h) / 2)) with Python's round-half-to-even. */
    public static Image centerCrop(Image src, int h, int w) {
        int top = (int) Math.rint((src.height() - h) / 2.0);
        int left = (int) Math.rint((src.width() - w) / 2.0);
        return crop(src, top, left, h, w);
    }

    /** Mirrors the columns (RandomHorizontalFlip when it fires). */
    public static Image hflip(Image src) {
        int c = src.channels(), h = src.height(), w = src.width();
        float[] s = src.data();
        float[] out = new float[s.length];
        for (int r = 0; r < c * h; r++) {
            int o = r * w;
            for (int x = 0; x < w; x++) out[o + x] = s[o + w - 1 - x];
        }
        return new Image(c, h, w, out);
    }
}
