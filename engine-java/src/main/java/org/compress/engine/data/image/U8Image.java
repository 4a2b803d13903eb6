// A decoded image as readers produce it: 8-bit samples, interleaved HWC, 1 (gray) or 3 (RGB) channels.
// Transforms read it directly (the first geometric step converts to float), so decoding stays cheap.
package org.compress.engine.data.image;

public final class U8Image {
    private final int height;
    private final int width;
    private final int channels;
    private final byte[] data;

    public U8Image(int height, int width, int channels, byte[] data) {
        if (height < 1 || width < 1) {
            throw new IllegalArgumentException("image: expected height, width >= 1, found " + height + "x" + width);
        }
        if (channels != 1 && channels != 3) {
            throw new IllegalArgumentException("image: expected 1 or 3 channels, found " + channels);
        }
        if (data.length != (long) height * width * channels) {
            throw new IllegalArgumentException("image: " + height + "x" + width + "x" + channels + " needs "
                    + (long) height * width * channels + " bytes, found " + data.length);
        }
        this.height = height;
        this.width = width;
        this.channels = channels;
        this.data = data;
    }

    public int height() { return height; }

    public int width() { return width; }

    public int channels() { return channels; }

    /** The HWC bytes (not a copy). */
    public byte[] data() { return data; }

    /** Sample at (y, x, c) as 0..255. */
    public int get(int y, int x, int c) { return data[(y * width + x) * channels + c] & 0xff; }

    /** Gray replicated to RGB (PIL's convert("RGB")), or this image if it already has 3 channels. */
    public U8Image toRgb() {
        if (channels == 3) return this;
        byte[] out = new byte[height * width * 3];
        for (int i = 0, n = height * width; i < n; i++) {
            out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = data[i];
        }
        return new U8Image(height, width, 3, out);
    }

    /** RGB to 8-bit gray with PIL's convert("L") arithmetic (ITU-R 601-2 luma in 16-bit fixed point). */
    public U8Image toGray() {
        if (channels == 1) return this;
        byte[] out = new byte[height * width];
        for (int i = 0; i < out.length; i++) {
            int r = data[3 * i] & 0xff, g = data[3 * i + 1] & 0xff, b = data[3 * i + 2] & 0xff;
            out[i] = (byte) ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
        }
        return new U8Image(height, width, 1, out);
    }

    /** ToTensor: float CHW in [0, 1] (value / 255). */
    public Image toFloat() {
        float[] out = new float[channels * height * width];
        int plane = height * width;
        for (int i = 0; i < plane; i++) {
            for (int c = 0; c < channels; c++) out[c * plane + i] = (data[i * channels + c] & 0xff) / 255f;
        }
        return new Image(channels, height, width, out);
    }
}
