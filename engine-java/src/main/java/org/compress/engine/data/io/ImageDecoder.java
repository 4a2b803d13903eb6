// Decodes JPEG / PNG / BMP bytes (format sniffed from the magic bytes) to 8-bit gray or RGB, with PIL's
// conversions as the reference (what torchvision's ImageFolder loader does with img.convert("RGB")):
// palette -> RGB, alpha dropped (not composited), 16-bit -> high byte, 1/2/4-bit gray scaled to 0..255,
// 4-component JPEG (CMYK, Adobe-inverted CMYK, YCCK) -> RGB with PIL's cmyk2rgb arithmetic.
// Gray images stay 1 channel here; the pipeline replicates them to 3 when asked.
package org.compress.engine.data.io;

import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.DataBufferByte;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.color.ColorSpace;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.event.IIOReadWarningListener;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import org.compress.engine.data.CorruptSampleException;
import org.compress.engine.data.image.U8Image;

public final class ImageDecoder {
    private ImageDecoder() {}

    // ImageIO readers are not thread-safe but are costly to create: one per format per worker thread.
    private static final ThreadLocal<ImageReader> JPEG_READER = ThreadLocal.withInitial(() -> reader("jpeg"));
    private static final ThreadLocal<ImageReader> PNG_READER = ThreadLocal.withInitial(() -> reader("png"));
    private static final ThreadLocal<ImageReader> BMP_READER = ThreadLocal.withInitial(() -> reader("bmp"));

    private static ImageReader reader(String format) {
        Iterator<ImageReader> it = ImageIO.getImageReadersByFormatName(format);
        if (!it.hasNext()) throw new IllegalStateException("this JDK has no ImageIO reader for " + format);
        return it.next();
    }

    /** Decodes {@code bytes}; {@code source} (a path) names the file in errors. */
    public static U8Image decode(byte[] bytes, String source) {
        ImageFormat format = ImageFormat.sniff(bytes);
        try {
            return switch (format) {
                case JPEG -> decodeJpeg(bytes, source);
                case PNG -> toU8(read(PNG_READER.get(), bytes, source), source);
                case BMP -> toU8(read(BMP_READER.get(), bytes, source), source);
                case UNKNOWN -> throw new CorruptSampleException(source, "not a JPEG, PNG or BMP file (starts with "
                        + ImageFormat.head(bytes) + ")");
            };
        } catch (IOException | RuntimeException e) {
            if (e instanceof CorruptSampleException c) throw c;
            throw new CorruptSampleException(source, "cannot decode " + format + ": " + e, e);
        }
    }

    private static U8Image decodeJpeg(byte[] bytes, String source) throws IOException {
        JpegHeader header = JpegHeader.parse(bytes, source);
        ImageReader reader = JPEG_READER.get();
        List<String> warnings = new ArrayList<>();
        IIOReadWarningListener listener = (r, w) -> warnings.add(w);
        reader.addIIOReadWarningListener(listener);
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            reader.setInput(in, true, true);
            U8Image image;
            if (header.components() == 4) {
                // ImageIO does not colour-convert 4-component JPEGs; read the raw samples and convert like PIL.
                image = cmykToRgb(reader.readRaster(0, null), header.adobeTransform());
            } else {
                image = toU8(reader.read(0), source);
            }
            for (String w : warnings) {
                // libjpeg fills a truncated file with grey and only warns; PIL refuses such files, so do we.
                String lw = w.toLowerCase(java.util.Locale.ROOT);
                if (lw.contains("premature end of jpeg file") || lw.contains("truncated")) throw new CorruptSampleException(source, "truncated JPEG (" + w + ")");
            }
            return image;
        } finally {
            reader.removeIIOReadWarningListener(listener);
            reader.reset();
        }
    }

    private static BufferedImage read(ImageReader reader, byte[] bytes, String source) throws IOException {
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            reader.setInput(in, true, true);
            return reader.read(0);
        } finally {
            reader.reset();
        }
    }

    /** PIL's MULDIV255: round(a * b / 255) in integers. */
    private static int mulDiv255(int a, int b) {
        int t = a * b + 128;
        return ((t >> 8) + t) >> 8;
    }

    // libjpeg's fixed-point YCbCr -> RGB (jdcolor.c), used for YCCK JPEGs.
    private static final int SCALE = 16, HALF = 1 << (SCALE - 1);

    private static int fix(double x) { return (int) (x * (1 << SCALE) + 0.5); }

    private static int clamp255(int v) { return v < 0 ? 0 : Math.min(255, v); }

    static U8Image cmykToRgb(Raster raster, int adobeTransform) {
        int w = raster.getWidth(), h = raster.getHeight();
        byte[] out = new byte[w * h * 3];
        int[] px = new int[4 * w];
        for (int y = 0; y < h; y++) {
            raster.getPixels(raster.getMinX(), raster.getMinY() + y, w, 1, px);
            for (int x = 0; x < w; x++) {
                int a = px[4 * x], b = px[4 * x + 1], c = px[4 * x + 2], k = px[4 * x + 3];
                int c0, m0, y0, k0;   // the samples libjpeg hands PIL (Adobe files: inverted ink)
                if (adobeTransform == 2) {
                    // YCCK: libjpeg converts YCC to RGB and stores 255 - RGB as (inverted) CMY.
                    int cb = b - 128, cr = c - 128;
                    int r = a + ((fix(1.40200) * cr + HALF) >> SCALE);
                    int g = a + ((-fix(0.34414) * cb - fix(0.71414) * cr + HALF) >> SCALE);
                    int bl = a + ((fix(1.77200) * cb + HALF) >> SCALE);
                    c0 = 255 - clamp255(r);
                    m0 = 255 - clamp255(g);
                    y0 = 255 - clamp255(bl);
                    k0 = k;
                } else {
                    c0 = a; m0 = b; y0 = c; k0 = k;
                }
                boolean inverted = adobeTransform != JpegHeader.NO_ADOBE;
                int ci = inverted ? 255 - c0 : c0, mi = inverted ? 255 - m0 : m0, yi = inverted ? 255 - y0 : y0;
                int nk = 255 - (inverted ? 255 - k0 : k0);
                int o = 3 * (y * w + x);
                out[o] = (byte) clamp255(nk - mulDiv255(ci, nk));
                out[o + 1] = (byte) clamp255(nk - mulDiv255(mi, nk));
                out[o + 2] = (byte) clamp255(nk - mulDiv255(yi, nk));
            }
        }
        return new U8Image(h, w, 3, out);
    }

    /** Any ImageIO result to 8-bit gray or RGB, reading raw samples (getRGB would gamma-convert gray). */
    static U8Image toU8(BufferedImage img, String source) {
        int w = img.getWidth(), h = img.getHeight();
        Raster raster = img.getRaster();
        ColorModel cm = img.getColorModel();
        if (img.getType() == BufferedImage.TYPE_3BYTE_BGR && raster.getDataBuffer() instanceof DataBufferByte db
                && raster.getMinX() == 0 && raster.getMinY() == 0 && db.getNumBanks() == 1) {
            byte[] bgr = db.getData();
            byte[] out = new byte[w * h * 3];
            for (int i = 0; i < out.length; i += 3) {
                out[i] = bgr[i + 2];
                out[i + 1] = bgr[i + 1];
                out[i + 2] = bgr[i];
            }
            return new U8Image(h, w, 3, out);
        }
        if (cm instanceof IndexColorModel icm) {
            byte[] out = new byte[w * h * 3];
            int[] idx = new int[w];
            for (int y = 0; y < h; y++) {
                raster.getSamples(raster.getMinX(), raster.getMinY() + y, w, 1, 0, idx);
                for (int x = 0; x < w; x++) {
                    int o = 3 * (y * w + x);
                    out[o] = (byte) icm.getRed(idx[x]);
                    out[o + 1] = (byte) icm.getGreen(idx[x]);
                    out[o + 2] = (byte) icm.getBlue(idx[x]);
                }
            }
            return new U8Image(h, w, 3, out);
        }
        int colorType = cm.getColorSpace().getType();
        int channels;
        if (colorType == ColorSpace.TYPE_GRAY) channels = 1;
        else if (colorType == ColorSpace.TYPE_RGB && cm.getNumColorComponents() == 3) channels = 3;
        else throw new CorruptSampleException(source, "unsupported colour space (type " + colorType + ", "
                + cm.getNumComponents() + " components)");
        byte[] out = new byte[w * h * channels];
        int[] row = new int[w];
        for (int c = 0; c < channels; c++) {
            int bits = cm.getComponentSize(c);
            int max = (1 << Math.min(bits, 8)) - 1;
            for (int y = 0; y < h; y++) {
                raster.getSamples(raster.getMinX(), raster.getMinY() + y, w, 1, c, row);
                for (int x = 0; x < w; x++) {
                    int v = row[x];
                    // 16-bit: keep the high byte (PIL's RGB;16B rawmode); 1/2/4-bit gray: stretch to 0..255.
                    int u8 = bits > 8 ? v >>> (bits - 8) : (bits == 8 ? v : v * 255 / max);
                    out[(y * w + x) * channels + c] = (byte) u8;
                }
            }
        }
        return new U8Image(h, w, channels, out);
    }
}
