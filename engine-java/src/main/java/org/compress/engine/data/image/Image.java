// The transforms' working image: float32, planar CHW, values in [0, 1] after ToTensor (torchvision's tensor
// layout), so every transform follows torchvision's tensor-path definitions on float images.
package org.compress.engine.data.image;

public final class Image {
    private final int channels;
    private final int height;
    private final int width;
    private final float[] data;

    public Image(int channels, int height, int width, float[] data) {
        if (channels < 1 || height < 1 || width < 1) {
            throw new IllegalArgumentException("image: expected C, H, W >= 1, found " + channels + "x" + height + "x" + width);
        }
        if (data.length != (long) channels * height * width) {
            throw new IllegalArgumentException("image: " + channels + "x" + height + "x" + width + " needs "
                    + (long) channels * height * width + " floats, found " + data.length);
        }
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.data = data;
    }

    public static Image zeros(int channels, int height, int width) {
        return new Image(channels, height, width, new float[channels * height * width]);
    }

    public int channels() { return channels; }

    public int height() { return height; }

    public int width() { return width; }

    public int plane() { return height * width; }

    /** The CHW floats (not a copy). */
    public float[] data() { return data; }

    public float get(int c, int y, int x) { return data[(c * height + y) * width + x]; }

    public Image copy() { return new Image(channels, height, width, data.clone()); }
}
