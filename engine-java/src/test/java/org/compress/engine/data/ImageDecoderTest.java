// Image reading against PIL (committed fixtures from make_image_fixtures.py) and on files ImageIO writes here.
package org.compress.engine.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import org.compress.engine.data.image.U8Image;
import org.compress.engine.data.io.ImageDecoder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageDecoderTest {
    @TempDir Path tmp;

    static byte[] resource(String name) throws IOException {
        try (InputStream in = ImageDecoderTest.class.getResourceAsStream("/data/images/" + name)) {
            if (in == null) fail("missing test resource /data/images/" + name);
            return in.readAllBytes();
        }
    }

    static JsonNode expected() throws IOException {
        return new ObjectMapper().readTree(resource("expected.json"));
    }

    /** Max |a - b| over all samples, after checking the shapes agree. */
    static int maxDiff(String what, U8Image img, JsonNode ref) {
        int channels = ref.get("mode").asText().equals("L") ? 1 : 3;
        assertEquals(ref.get("height").asInt(), img.height(), what + " height");
        assertEquals(ref.get("width").asInt(), img.width(), what + " width");
        assertEquals(channels, img.channels(), what + " channels");
        JsonNode px = ref.get("pixels");
        int worst = 0;
        for (int i = 0; i < px.size(); i++) worst = Math.max(worst, Math.abs((img.data()[i] & 0xff) - px.get(i).asInt()));
        return worst;
    }

    @Test void losslessFormatsMatchPilExactly() throws IOException {
        JsonNode exp = expected();
        for (String name : new String[] {"palette.png", "gray_alpha.png", "rgba.png", "rgb24.bmp", "png_named.JPEG", "gray16.png"}) {
            U8Image img = ImageDecoder.decode(resource(name), name);
            assertEquals(0, maxDiff(name, img, exp.get(name)), name + " differs from PIL's decode");
        }
    }

    @Test void jpegsMatchPilWithinIdctDifferences() throws IOException {
        // PIL uses libjpeg-turbo, the JDK its own libjpeg 6b: both use the integer IDCT and fancy upsampling,
        // but may still differ by a unit or two of rounding; 2 levels (of 255) bounds that. CMYK/YCCK add the
        // colour conversion, which we copy from PIL/libjpeg exactly, so the same bound holds.
        JsonNode exp = expected();
        for (String name : new String[] {"baseline.jpg", "progressive.jpg", "gray.jpg", "cmyk_adobe.jpg", "ycck.jpg"}) {
            U8Image img = ImageDecoder.decode(resource(name), name);
            int d = maxDiff(name, img, exp.get(name));
            assertTrue(d <= 2, name + ": max difference from PIL " + d + " > 2");
        }
    }

    @Test void cmykColoursAreRight() throws IOException {
        // Independent of PIL: the left block is C=0 M=255 Y=0 K=0 (magenta), the right C=255 K=64 (dark cyan).
        U8Image img = ImageDecoder.decode(resource("cmyk_adobe.jpg"), "cmyk");
        assertTrue(img.get(4, 4, 0) > 250 && img.get(4, 4, 1) < 5 && img.get(4, 4, 2) > 250, "magenta block");
        assertTrue(img.get(4, 20, 0) < 5 && Math.abs(img.get(4, 20, 1) - 191) <= 2, "dark cyan block");
    }

    @Test void nonImageIsReportedWithItsName() throws IOException {
        CorruptSampleException e = assertThrows(CorruptSampleException.class,
                () -> ImageDecoder.decode(resource("not_an_image.jpg"), "x/not_an_image.jpg"));
        assertEquals("x/not_an_image.jpg", e.source());
        assertTrue(e.getMessage().contains("not a JPEG, PNG or BMP"), e.getMessage());
        assertThrows(CorruptSampleException.class, () -> ImageDecoder.decode(new byte[0], "empty"));
    }

    static BufferedImage randomRgb(long seed, int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        SplittableRandom r = new SplittableRandom(seed);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, r.nextInt(1 << 24));
        return img;
    }

    static BufferedImage smoothRgb(int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) {
            img.setRGB(x, y, ((x * 255 / w) << 16) | ((y * 255 / h) << 8) | 128);
        }
        return img;
    }

    static byte[] jpeg(BufferedImage img, boolean progressive) throws IOException {
        ImageWriter w = ImageIO.getImageWritersByFormatName("jpeg").next();
        ImageWriteParam p = w.getDefaultWriteParam();
        p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
        p.setCompressionQuality(0.95f);
        if (progressive) p.setProgressiveMode(ImageWriteParam.MODE_DEFAULT);
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (ImageOutputStream out = ImageIO.createImageOutputStream(bytes)) {
            w.setOutput(out);
            w.write(null, new IIOImage(img, null, null), p);
        }
        w.dispose();
        return bytes.toByteArray();
    }

    @Test void pngAndBmpRoundTripExactly() throws IOException {
        BufferedImage src = randomRgb(7, 37, 19);
        for (String fmt : new String[] {"png", "bmp"}) {
            Path f = tmp.resolve("x." + fmt);
            assertTrue(ImageIO.write(src, fmt, f.toFile()));
            U8Image img = ImageDecoder.decode(Files.readAllBytes(f), f.toString());
            for (int y = 0; y < 19; y++) for (int x = 0; x < 37; x++) {
                int rgb = src.getRGB(x, y);
                assertEquals((rgb >> 16) & 0xff, img.get(y, x, 0), fmt + " R at " + y + "," + x);
                assertEquals((rgb >> 8) & 0xff, img.get(y, x, 1), fmt + " G");
                assertEquals(rgb & 0xff, img.get(y, x, 2), fmt + " B");
            }
        }
    }

    @Test void sixteenBitRgbPngKeepsTheHighByte() throws IOException {
        ComponentColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_sRGB), false, false,
                Transparency.OPAQUE, DataBuffer.TYPE_USHORT);
        WritableRaster r = cm.createCompatibleWritableRaster(5, 3);
        for (int y = 0; y < 3; y++) for (int x = 0; x < 5; x++) r.setPixel(x, y, new int[] {x * 13000 + 255, y * 30000, 65535 - x * 1000});
        Path f = tmp.resolve("rgb16.png");
        assertTrue(ImageIO.write(new BufferedImage(cm, r, false, null), "png", f.toFile()));
        U8Image img = ImageDecoder.decode(Files.readAllBytes(f), f.toString());
        assertEquals(3, img.channels());
        for (int y = 0; y < 3; y++) for (int x = 0; x < 5; x++) {
            assertEquals((x * 13000 + 255) >> 8, img.get(y, x, 0));
            assertEquals((y * 30000) >> 8, img.get(y, x, 1));
            assertEquals((65535 - x * 1000) >> 8, img.get(y, x, 2));
        }
    }

    @Test void oneBitGrayIsStretched() throws IOException {
        BufferedImage b = new BufferedImage(9, 2, BufferedImage.TYPE_BYTE_BINARY);
        b.setRGB(3, 1, 0xffffff);
        Path f = tmp.resolve("bits.png");
        assertTrue(ImageIO.write(b, "png", f.toFile()));
        U8Image img = ImageDecoder.decode(Files.readAllBytes(f), "bits");
        // ImageIO reads a 1-bit PNG as an indexed image (palette black/white): expanded to RGB.
        assertEquals(255, img.get(1, 3, 0));
        assertEquals(0, img.get(0, 3, 0));
    }

    @Test void progressiveAndBaselineJpegDecodeToTheSource() throws IOException {
        BufferedImage src = smoothRgb(40, 24);
        for (boolean progressive : new boolean[] {false, true}) {
            byte[] bytes = jpeg(src, progressive);
            U8Image img = ImageDecoder.decode(bytes, "gen");
            int worst = 0;
            for (int y = 0; y < 24; y++) for (int x = 0; x < 40; x++) {
                int rgb = src.getRGB(x, y);
                worst = Math.max(worst, Math.abs(((rgb >> 16) & 0xff) - img.get(y, x, 0)));
                worst = Math.max(worst, Math.abs(((rgb >> 8) & 0xff) - img.get(y, x, 1)));
                worst = Math.max(worst, Math.abs((rgb & 0xff) - img.get(y, x, 2)));
            }
            // Quality 0.95 with 4:2:0 chroma on a smooth ramp: lossy, but within a few levels.
            assertTrue(worst <= 8, (progressive ? "progressive" : "baseline") + " JPEG off by " + worst);
        }
    }

    @Test void truncatedFilesAreCorrupt() throws IOException {
        byte[] full = jpeg(randomRgb(3, 64, 48), true);
        CorruptSampleException e = assertThrows(CorruptSampleException.class,
                () -> ImageDecoder.decode(Arrays.copyOf(full, full.length / 2), "cut.jpg"));
        assertTrue(e.getMessage().startsWith("cut.jpg: "), e.getMessage());
        byte[] baseline = jpeg(randomRgb(4, 64, 48), false);
        assertThrows(CorruptSampleException.class, () -> ImageDecoder.decode(Arrays.copyOf(baseline, baseline.length / 2), "cut2.jpg"));
        assertThrows(CorruptSampleException.class, () -> ImageDecoder.decode(Arrays.copyOf(baseline, 40), "header-only.jpg"));
        Path png = tmp.resolve("x.png");
        ImageIO.write(randomRgb(5, 64, 48), "png", png.toFile());
        byte[] p = Files.readAllBytes(png);
        assertThrows(CorruptSampleException.class, () -> ImageDecoder.decode(Arrays.copyOf(p, p.length / 2), "cut.png"));
    }
}
