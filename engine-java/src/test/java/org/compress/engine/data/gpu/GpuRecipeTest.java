// The GPU path's CPU-side contract, checked without a GPU: (1) GpuRecipe draws the same parameters, in the same
// order, as the CPU recipes, and replaying them through the CPU transforms gives the CPU loader's output bitwise;
// (2) AugmentJobs writes the documented AugmentJob layout and plans scratch, lists and taps; (3) files are routed
// to nvJPEG or the CPU decoder by content; (4) bad inputs say what is wrong.
package org.compress.engine.data.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.Backends;
import org.compress.engine.data.datasets.ImageFolder;
import org.compress.engine.data.image.U8Image;
import org.compress.engine.data.transforms.ColorJitter;
import org.compress.engine.data.transforms.GaussianBlur;
import org.compress.engine.data.transforms.Rng;
import org.compress.engine.testing.Close;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GpuRecipeTest {
    static U8Image noise(int h, int w, int channels, long seed) {
        byte[] b = new byte[h * w * channels];
        new SplittableRandom(seed).nextBytes(b);
        return new U8Image(h, w, channels, b);
    }

    /** Every view of `samples` seeds through both forms; returns {jitter, contrast, gray, blur, flip, views} counts. */
    static int[] assertSameAsCpu(GpuRecipe r, U8Image img, int samples) {
        int floats = 3 * r.height() * r.width();
        int[] seen = new int[6];
        for (int s = 0; s < samples; s++) {
            SplittableRandom cpuRng = Rng.forSample(11, 2, s), gpuRng = Rng.forSample(11, 2, s);
            float[][] cpu = new float[r.views()][floats], replay = new float[r.views()][floats];
            r.cpuRecipe().apply(img, cpuRng, cpu, 0);
            AugmentParams[] p = r.sample(gpuRng, img.height(), img.width());
            r.applyOnCpu(img, p, replay, 0);
            for (int v = 0; v < r.views(); v++) {
                Close.assertBitwise(r.name() + " " + img.height() + "x" + img.width() + " sample " + s + " view " + v, replay[v], cpu[v]);
                if (p[v].jitter() != null) seen[0]++;
                if (p[v].hasContrast()) seen[1]++;
                if (p[v].grayscale()) seen[2]++;
                if (p[v].hasBlur()) seen[3]++;
                if (p[v].flip()) seen[4]++;
                seen[5]++;
            }
            assertEquals(cpuRng.nextLong(), gpuRng.nextLong(), "both forms must draw the same number of values");
        }
        return seen;
    }

    @Test void sampledParametersReplayTheCpuRecipesBitwise() {
        U8Image[] images = {noise(37, 53, 3, 1), noise(64, 29, 3, 2), noise(30, 30, 1, 3), noise(7, 300, 3, 4)};
        for (U8Image img : images) {
            int[] c = assertSameAsCpu(GpuRecipe.compress(24), img, 12);
            assertTrue(c[4] > 0 && c[4] < c[5], "flips both ways: " + c[4] + " of " + c[5]);
            assertSameAsCpu(GpuRecipe.eval(27, 24), img, 2);
        }
        int[] m = assertSameAsCpu(GpuRecipe.mocov2(64), noise(71, 93, 3, 5), 24);
        for (int k = 0; k < 5; k++) assertTrue(m[k] > 0 && m[k] < m[5], "mocov2 covers each op fired and not fired, case " + k + ": " + m[k] + " of " + m[5]);
    }

    @Test void byNameMatchesRecipesByName() {
        assertEquals("eval", GpuRecipe.byName("eval", 224).cpuRecipe().name());
        assertEquals(2, GpuRecipe.byName("mocov2", 224).views());
        GpuRecipe eval = GpuRecipe.byName("eval", 224);
        AugmentParams p = eval.sample(new SplittableRandom(0), 375, 500)[0];
        assertEquals(256, p.resizeHeight());
        assertEquals(341, p.resizeWidth());            // int(256 * 500 / 375)
        assertEquals(16, p.windowTop());
        assertEquals(58, p.windowLeft());              // round((341 - 224) / 2) = round(58.5) = 58 (half to even)
        var e = assertThrows(IllegalArgumentException.class, () -> GpuRecipe.byName("plain", 28));
        assertTrue(e.getMessage().contains("compress, mocov2 or eval"), e.getMessage());
    }

    @Test void jobsPackTheDocumentedLayout() {
        ColorJitter.Params jp = new ColorJitter(0, 0.4, 0.4, 0.1).sample(new SplittableRandom(3));   // brightness left out
        AugmentParams a = new AugmentParams(3, 5, 20, 17, 16, 16, 0, 0, true, jp, true, 7, 1.5);
        AugmentParams b = AugmentParams.resizedCrop(0, 0, 9, 11, 16, 16, false);
        AugmentJobs jobs = new AugmentJobs(16, 16, 5);
        jobs.add(a, new AugmentJobs.Source(0x7f00_0000_1000L, 3 * 40 + 8, 30, 40), 4);
        jobs.add(b, new AugmentJobs.Source(0x7f00_0000_9000L, 3 * 11, 9, 11), 1);
        ByteBuffer buf = ByteBuffer.allocate((int) jobs.uploadBytes()).order(ByteOrder.nativeOrder());
        jobs.write(buf);

        assertEquals(0x7f00_0000_1000L, buf.getLong(AugmentJobs.SRC));
        assertEquals(0, buf.getLong(AugmentJobs.TMP_OFFSET));
        assertEquals(128, buf.getInt(AugmentJobs.SRC_PITCH));
        assertEquals(4, buf.getInt(AugmentJobs.OUT_INDEX));
        int[] geometry = {3, 5, 20, 17, 16, 16, 0, 0, 1, 1};
        for (int k = 0; k < geometry.length; k++) assertEquals(geometry[k], buf.getInt(AugmentJobs.CROP_TOP + 4 * k), "geometry field " + k);
        // ops: the sampled order without brightness (NaN), factors by op
        int expectedOps = 0;
        for (int op : jp.order()) if (op != 0) assertEquals(op, buf.getInt(AugmentJobs.OPS + 4 * expectedOps++));
        assertEquals(3, expectedOps);
        assertEquals(3, buf.getInt(AugmentJobs.OP_COUNT));
        assertEquals(-1, buf.getInt(AugmentJobs.OPS + 12));
        assertEquals(0.0, buf.getDouble(AugmentJobs.FACTORS));
        assertEquals(jp.contrast(), buf.getDouble(AugmentJobs.FACTORS + 8));
        assertEquals(jp.saturation(), buf.getDouble(AugmentJobs.FACTORS + 16));
        assertEquals(jp.hue(), buf.getDouble(AugmentJobs.FACTORS + 24));
        assertEquals(7, buf.getInt(AugmentJobs.BLUR_SIZE));
        assertEquals(0, buf.getInt(AugmentJobs.BLUR_OFFSET));
        // job b: its scratch after a's (a blurs: max(3*20*16, 3*16*16) = 960 floats, 64-aligned)
        assertEquals(960, buf.getLong(AugmentJobs.JOB_BYTES + AugmentJobs.TMP_OFFSET));
        assertEquals(0, buf.getInt(AugmentJobs.JOB_BYTES + AugmentJobs.OP_COUNT));
        assertEquals(0, buf.getInt(AugmentJobs.JOB_BYTES + AugmentJobs.BLUR_SIZE));
        assertEquals(960 + 3 * 9 * 16 + 16, jobs.scratchFloats());   // 432 rounded up to 448
        // taps and lists
        double[] k = GaussianBlur.kernel(7, 1.5);
        for (int i = 0; i < 7; i++) assertEquals(k[i], buf.getDouble((int) jobs.tapsOffset() + 8 * i));
        assertEquals(1, jobs.finishCount());
        assertEquals(0, buf.getInt((int) jobs.finishOffset()));
        assertEquals(1, jobs.blurCount());
        assertEquals(0, buf.getInt((int) jobs.blurOffset()));
        assertEquals(20, jobs.maxCropHeight());
        assertEquals(7, jobs.maxBlurSize());
        assertEquals(4, jobs.maxOutIndex());
        assertTrue(AugmentJobs.maxUploadBytes(5, AugmentJobs.MAX_BLUR) >= jobs.uploadBytes());
        jobs.clear();
        assertEquals(0, jobs.jobCount());
        assertEquals(0, jobs.scratchFloats());
    }

    @Test void badJobsSayWhatIsWrong() {
        AugmentJobs jobs = new AugmentJobs(16, 16, 1);
        AugmentJobs.Source src = new AugmentJobs.Source(1, 30, 10, 10);
        String m = assertThrows(IllegalArgumentException.class, () -> jobs.add(AugmentParams.resizedCrop(2, 0, 9, 10, 16, 16, false), src, 0)).getMessage();
        assertTrue(m.contains("outside a 10x10 image"), m);
        m = assertThrows(IllegalArgumentException.class, () -> jobs.add(new AugmentParams(0, 0, 10, 10, 20, 16, 5, 0, false, null, false, 0, Double.NaN), src, 0)).getMessage();
        assertTrue(m.contains("does not fit the 20x16 resized image"), m);
        m = assertThrows(IllegalArgumentException.class, () -> jobs.add(AugmentParams.resizedCrop(0, 0, 10, 10, 16, 16, false), new AugmentJobs.Source(1, 29, 10, 10), 0)).getMessage();
        assertTrue(m.contains("pitch >= 3 x width = 30, found 29"), m);
        AugmentJobs big = new AugmentJobs(200, 200, 1);
        m = assertThrows(IllegalArgumentException.class, () -> big.add(AugmentParams.resizedCrop(0, 0, 10, 10, 200, 200, false)
                .withColour(null, false, 65, 1.0), src, 0)).getMessage();
        assertTrue(m.contains("blur kernel <= 63"), m);
        m = assertThrows(IllegalArgumentException.class, () -> AugmentParams.resizedCrop(0, 0, 10, 10, 16, 16, false).withColour(null, false, 4, 1.0)).getMessage();
        assertTrue(m.contains("odd size with sigma > 0, found size 4"), m);
        m = assertThrows(IllegalArgumentException.class, () -> new AugmentJobs(16, 16, AugmentJobs.MAX_JOBS + 1)).getMessage();
        assertTrue(m.contains("1 to " + AugmentJobs.MAX_JOBS), m);
        assertEquals(0, jobs.jobCount(), "failed adds change nothing");
        jobs.add(AugmentParams.resizedCrop(0, 0, 10, 10, 16, 16, false), src, 0);
        assertThrows(IllegalStateException.class, () -> jobs.add(AugmentParams.resizedCrop(0, 0, 10, 10, 16, 16, false), src, 0));
        assertThrows(IllegalArgumentException.class, () -> GpuRecipe.eval(200, 224));
        assertThrows(IllegalArgumentException.class, () -> new GpuPipelineOptions(1, org.compress.engine.tensor.DType.F32, true, 1));
        assertThrows(IllegalArgumentException.class, () -> GpuPipelineOptions.defaults().hardware(true, 1.5));
    }

    static byte[] resource(String name) throws IOException {
        try (InputStream in = GpuRecipeTest.class.getResourceAsStream("/data/images/" + name)) {
            return in.readAllBytes();
        }
    }

    static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, format, out);
        return out.toByteArray();
    }

    @Test void filesGoToNvJpegOrTheCpuDecoderByContent() throws IOException {
        assertNull(GpuBatchPipeline.cpuReason(resource("baseline.jpg"), "baseline.jpg"));
        assertNull(GpuBatchPipeline.cpuReason(resource("gray.jpg"), "gray.jpg"));
        assertNull(GpuBatchPipeline.cpuReason(resource("progressive.jpg"), "progressive.jpg"), "nvJPEG's hybrid decoder takes progressive files");
        assertEquals("CMYK/YCCK JPEG", GpuBatchPipeline.cpuReason(resource("cmyk_adobe.jpg"), "cmyk_adobe.jpg"));
        assertEquals("CMYK/YCCK JPEG", GpuBatchPipeline.cpuReason(resource("ycck.jpg"), "ycck.jpg"));
        assertEquals("PNG", GpuBatchPipeline.cpuReason(resource("png_named.JPEG"), "png_named.JPEG"));
        assertEquals("BMP", GpuBatchPipeline.cpuReason(resource("rgb24.bmp"), "rgb24.bmp"));
        assertEquals("not an image", GpuBatchPipeline.cpuReason(resource("not_an_image.jpg"), "not_an_image.jpg"));
        assertNull(GpuBatchPipeline.cpuReason(encode(new BufferedImage(9, 7, BufferedImage.TYPE_3BYTE_BGR), "jpeg"), "written.jpg"));
    }

    @Test void theCpuBackendOrNonJpegFoldersKeepTheCpuLoader(@TempDir Path dir) throws IOException {
        for (int c = 0; c < 2; c++) {
            Files.createDirectories(dir.resolve("c" + c));
            Files.write(dir.resolve("c" + c + "/a.png"), encode(new BufferedImage(5, 5, BufferedImage.TYPE_3BYTE_BGR), "png"));
        }
        ImageFolder pngs = ImageFolder.open(dir);
        try (Backend cpu = Backends.select("cpu")) {
            DeviceInput.Choice c = DeviceInput.choose(cpu, pngs, "compress", true);
            assertFalse(c.gpu());
            assertTrue(c.reason().contains("not the CUDA backend"), c.reason());
            assertFalse(DeviceInput.choose(cpu, pngs, "compress", false).gpu());
        }
        assertEquals(0.0, DeviceInput.jpegShare(pngs));
        Files.write(dir.resolve("c0/b.jpg"), encode(new BufferedImage(5, 5, BufferedImage.TYPE_3BYTE_BGR), "jpeg"));
        assertEquals(1.0 / 3, DeviceInput.jpegShare(ImageFolder.open(dir)), 1e-12);
    }
}
