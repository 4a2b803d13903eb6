// One view's augmentation as plain numbers, sampled on the CPU: what the GPU kernels execute (AugmentJobs packs
// it) and what applyOnCpu replays through the CPU transforms, which stay the reference. Region (cropTop,
// cropLeft, cropHeight, cropWidth) of the decoded image is resized to resizeHeight x resizeWidth and the output
// window at (windowTop, windowLeft) of that is kept; then ColorJitter, grayscale, blur, flip, as Recipes order them.
package org.compress.engine.data.gpu;

import org.compress.engine.data.image.Image;
import org.compress.engine.data.image.U8Image;
import org.compress.engine.data.transforms.ColorJitter;
import org.compress.engine.data.transforms.ColorOps;
import org.compress.engine.data.transforms.GaussianBlur;
import org.compress.engine.data.transforms.Geometry;
import org.compress.engine.data.transforms.Resize;

/**
 * @param jitter    the sampled ColorJitter (order and factors; NaN factors are skipped), or null when it did not fire
 * @param blurSize  0 = no blur, else the odd Gaussian kernel size; blurSigma is then its sigma
 */
public record AugmentParams(int cropTop, int cropLeft, int cropHeight, int cropWidth, int resizeHeight, int resizeWidth,
                            int windowTop, int windowLeft, boolean flip, ColorJitter.Params jitter, boolean grayscale,
                            int blurSize, double blurSigma) {
    public AugmentParams {
        if (cropHeight < 1 || cropWidth < 1 || resizeHeight < 1 || resizeWidth < 1) {
            throw new IllegalArgumentException("augment: expected crop and resize sizes >= 1, found crop " + cropHeight + "x"
                    + cropWidth + ", resize " + resizeHeight + "x" + resizeWidth);
        }
        if (cropTop < 0 || cropLeft < 0 || windowTop < 0 || windowLeft < 0) {
            throw new IllegalArgumentException("augment: expected non-negative offsets, found crop at (" + cropTop + ", "
                    + cropLeft + "), window at (" + windowTop + ", " + windowLeft + ")");
        }
        if (blurSize < 0 || (blurSize > 0 && (blurSize % 2 == 0 || !(blurSigma > 0)))) {
            throw new IllegalArgumentException("augment: expected no blur (size 0) or an odd size with sigma > 0, found size "
                    + blurSize + ", sigma " + blurSigma);
        }
    }

    /** RandomResizedCrop-style: the crop resized straight to the output size, no window. */
    public static AugmentParams resizedCrop(int top, int left, int h, int w, int outH, int outW, boolean flip) {
        return new AugmentParams(top, left, h, w, outH, outW, 0, 0, flip, null, false, 0, Double.NaN);
    }

    public AugmentParams withColour(ColorJitter.Params jitter, boolean grayscale, int blurSize, double blurSigma) {
        return new AugmentParams(cropTop, cropLeft, cropHeight, cropWidth, resizeHeight, resizeWidth, windowTop, windowLeft,
                flip, jitter, grayscale, blurSize, blurSigma);
    }

    public boolean hasBlur() { return blurSize > 0; }

    /** ColorJitter fired with a contrast factor: the GPU then needs the image's mean gray (a second pass). */
    public boolean hasContrast() { return jitter != null && !Double.isNaN(jitter.contrast()); }

    /** Throws IllegalArgumentException unless this fits an imgH x imgW image and an outH x outW output. */
    public void check(int imgH, int imgW, int outH, int outW) {
        if (cropTop + cropHeight > imgH || cropLeft + cropWidth > imgW) {
            throw new IllegalArgumentException("augment: crop (top " + cropTop + ", left " + cropLeft + ", " + cropHeight + "x"
                    + cropWidth + ") outside a " + imgH + "x" + imgW + " image");
        }
        if (windowTop + outH > resizeHeight || windowLeft + outW > resizeWidth) {
            throw new IllegalArgumentException("augment: a " + outH + "x" + outW + " window at (" + windowTop + ", " + windowLeft
                    + ") does not fit the " + resizeHeight + "x" + resizeWidth + " resized image");
        }
        if (blurSize / 2 >= outH || blurSize / 2 >= outW) {
            throw new IllegalArgumentException("augment: blur kernel " + blurSize + " needs an output larger than "
                    + blurSize / 2 + " on each side, found " + outH + "x" + outW);
        }
    }

    /** This view through the CPU transforms: float CHW in [0, 1] (before Normalize), outH x outW. */
    public Image applyOnCpu(U8Image rgb, int outH, int outW) {
        check(rgb.height(), rgb.width(), outH, outW);
        Image x = Resize.resizedCrop(rgb, cropTop, cropLeft, cropHeight, cropWidth, resizeHeight, resizeWidth);
        if (windowTop != 0 || windowLeft != 0 || resizeHeight != outH || resizeWidth != outW) {
            x = Geometry.crop(x, windowTop, windowLeft, outH, outW);
        }
        if (jitter != null) x = ColorJitter.apply(x, jitter);
        if (grayscale) x = ColorOps.grayscale(x, x.channels());
        if (blurSize > 0) x = GaussianBlur.blur(x, blurSize, blurSigma);
        return flip ? Geometry.hflip(x) : x;
    }
}
