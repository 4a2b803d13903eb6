// The GPU data path end to end against the CPU DataLoader with the same config (seed, shuffle, batch size,
// skips), so the same samples get the same augmentation parameters:
//   PNG folder (decoded on the CPU by both paths, then the GPU kernels): values within 1e-5, the kernels'
//     tolerance (AugmentKernelsTest), labels, indices and batch sizes equal, the corrupt file skipped by both;
//   JPEG folder (nvJPEG vs libjpeg): per batch mean |diff| <= 0.03 in normalised units (1.5 levels / 255 / 0.224,
//     the decoders' bound from NvJpegDecoderTest, which resizing only averages), PNG and CMYK files routed to the CPU;
//   BF16 output, closing an epoch early, and DeviceInput's choice of path.
// Needs a GPU (skips with the reason otherwise); NOT YET RUN on one.
package org.compress.engine.data.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.compress.engine.backend.HostData;
import org.compress.engine.backend.cuda.CudaBackend;
import org.compress.engine.data.cuda.DeviceBatchStream;
import org.compress.engine.data.cuda.DeviceInputBatch;
import org.compress.engine.data.datasets.ImageFolder;
import org.compress.engine.data.loader.Batch;
import org.compress.engine.data.loader.DataLoader;
import org.compress.engine.data.loader.LoaderConfig;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Close;
import org.compress.engine.testing.GpuTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@GpuTest
class GpuBatchPipelineTest {
    static final LoaderConfig CONFIG = LoaderConfig.of(7).seed(4).workers(2);

    record HostRun(List<float[][]> views, List<int[]> labels, List<int[]> indices) {}

    static HostRun cpu(ImageFolder folder, GpuRecipe r, int epoch) {
        HostRun run = new HostRun(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        try (DataLoader loader = new DataLoader(folder, r.cpuRecipe(), CONFIG); DataLoader.Epoch e = loader.epoch(epoch)) {
            while (e.hasNext()) try (Batch b = e.next()) {
                float[][] v = new float[r.views()][];
                for (int k = 0; k < v.length; k++) v[k] = Arrays.copyOf(b.viewData(k), b.size() * 3 * r.height() * r.width());
                run.views().add(v);
                run.labels().add(b.labels());
                run.indices().add(b.indices());
            }
        }
        return run;
    }

    static HostRun gpu(CudaBackend gpu, GpuBatchPipeline p, int epoch) {
        HostRun run = new HostRun(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        try (GpuBatchPipeline.Epoch e = p.epoch(epoch)) {
            while (e.hasNext()) {
                GpuBatch b = e.next();
                b.awaitOn(gpu.stream());
                float[][] v = new float[p.recipe().views()][];
                for (int k = 0; k < v.length; k++) {
                    try (Tensor t = gpu.download(b.view(k))) {
                        v[k] = HostData.toFloats(t);
                    }
                }
                try (Tensor l = gpu.download(b.deviceLabels())) {
                    assertArrayEquals(b.labels(), l.cpuStorage().i32(), "device labels");
                }
                run.views().add(v);
                run.labels().add(b.labels());
                run.indices().add(b.indices());
                b.release(gpu.stream());
            }
        }
        return run;
    }

    static void write(Path p, BufferedImage img, String format) throws IOException {
        Files.createDirectories(p.getParent());
        ImageIO.write(img, format, p.toFile());
    }

    static ImageFolder folder(Path dir, String format, int n) throws IOException {
        for (int i = 0; i < n; i++) {
            BufferedImage img = NvJpegDecoderTest.photoLike(40 + 7 * i, 31 + 5 * (i % 6), BufferedImage.TYPE_3BYTE_BGR, i);
            write(dir.resolve("c" + (i % 3) + "/" + i + "." + format), img, format.equals("jpg") ? "jpeg" : format);
        }
        return ImageFolder.open(dir);
    }

    @Test void pngFolderMatchesTheCpuLoader(@TempDir Path dir) throws IOException {
        ImageFolder folder = folder(dir, "png", 23);
        Files.write(dir.resolve("c1/zz_bad.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});   // corrupt: skipped by both
        folder = ImageFolder.open(dir);
        GpuRecipe r = GpuRecipe.mocov2(48);
        HostRun host = cpu(folder, r, 2);
        try (CudaBackend gpu = CudaBackend.open(0);
             GpuBatchPipeline p = new GpuBatchPipeline(gpu, EncodedDataset.of(folder), r, CONFIG, GpuPipelineOptions.defaults())) {
            HostRun dev = gpu(gpu, p, 2);
            assertEquals(host.views().size(), dev.views().size(), "batches");
            for (int b = 0; b < host.views().size(); b++) {
                assertArrayEquals(host.labels().get(b), dev.labels().get(b), "labels of batch " + b);
                assertArrayEquals(host.indices().get(b), dev.indices().get(b), "indices of batch " + b);
                for (int v = 0; v < r.views(); v++) {
                    Close.assertClose("batch " + b + " view " + v, dev.views().get(b)[v], host.views().get(b)[v], 1e-5, 0);
                }
            }
            assertEquals(1, p.stats().skipped());
            assertEquals(23, p.stats().cpuDecoded().get("PNG"));
        }
    }

    @Test void jpegFolderMatchesTheCpuLoaderWithinDecoderTolerance(@TempDir Path dir) throws IOException {
        folder(dir, "jpg", 20);
        write(dir.resolve("c0/png_named.jpg"), NvJpegDecoderTest.photoLike(50, 40, BufferedImage.TYPE_3BYTE_BGR, 99), "png");
        Files.write(dir.resolve("c1/cmyk.jpg"), GpuRecipeTest.resource("cmyk_adobe.jpg"));
        Files.write(dir.resolve("c2/progressive.jpg"), GpuRecipeTest.resource("progressive.jpg"));
        ImageFolder folder = ImageFolder.open(dir);
        GpuRecipe r = GpuRecipe.compress(32);
        HostRun host = cpu(folder, r, 0);
        try (CudaBackend gpu = CudaBackend.open(0);
             GpuBatchPipeline p = new GpuBatchPipeline(gpu, EncodedDataset.of(folder), r, CONFIG, GpuPipelineOptions.defaults())) {
            HostRun dev = gpu(gpu, p, 0);
            assertEquals(host.views().size(), dev.views().size(), "batches");
            for (int b = 0; b < host.views().size(); b++) {
                assertArrayEquals(host.indices().get(b), dev.indices().get(b), "indices of batch " + b);
                float[] a = dev.views().get(b)[0], e = host.views().get(b)[0];
                double sum = 0;
                for (int i = 0; i < a.length; i++) sum += Math.abs(a[i] - e[i]);
                assertTrue(sum / a.length <= 0.03, "batch " + b + ": mean |GPU - CPU| = " + sum / a.length);
                Close.assertFiniteNonZero("batch " + b, a);
            }
            System.out.println("JPEG folder: " + p.stats() + "; decoder " + p.decoderInfo());
            assertEquals(1, p.stats().cpuDecoded().get("PNG"));
            assertEquals(1, p.stats().cpuDecoded().get("CMYK/YCCK JPEG"));
            assertEquals(21, p.stats().hardwareDecoded() + p.stats().hybridDecoded() + p.stats().cpuDecoded().getOrDefault("refused by nvJPEG", 0L));
        }
    }

    @Test void bf16EarlyCloseAndTheNextEpoch(@TempDir Path dir) throws IOException {
        ImageFolder folder = folder(dir, "jpg", 30);
        GpuRecipe r = GpuRecipe.compress(32);
        try (CudaBackend gpu = CudaBackend.open(0);
             GpuBatchPipeline f32 = new GpuBatchPipeline(gpu, EncodedDataset.of(folder), r, CONFIG, GpuPipelineOptions.defaults());
             GpuBatchPipeline bf16 = new GpuBatchPipeline(gpu, EncodedDataset.of(folder), r, CONFIG,
                     GpuPipelineOptions.defaults().output(DType.BF16).slots(3))) {
            HostRun a = gpu(gpu, f32, 1), b = gpu(gpu, bf16, 1);
            for (int k = 0; k < a.views().size(); k++) {
                Close.assertClose("bf16 batch " + k, b.views().get(k)[0], a.views().get(k)[0], 1e-6, 1.0 / 128);
            }
            try (GpuBatchPipeline.Epoch e = f32.epoch(2)) {
                GpuBatch first = e.next();
                first.awaitOn(gpu.stream());
                // closed with a batch still held: its slot comes back, and its late release is ignored
            }
            HostRun again = gpu(gpu, f32, 1);
            for (int k = 0; k < a.views().size(); k++) Close.assertBitwise("epoch 1 again, batch " + k, again.views().get(k)[0], a.views().get(k)[0]);
        }
    }

    @Test void deviceInputPicksThePathAndBothDeliver(@TempDir Path dir) throws IOException {
        ImageFolder jpegs = folder(dir.resolve("jpg"), "jpg", 9), pngs = folder(dir.resolve("png"), "png", 9);
        try (CudaBackend gpu = CudaBackend.open(0)) {
            for (ImageFolder f : List.of(jpegs, pngs)) {
                try (DeviceInput in = DeviceInput.open(gpu, f, "compress", 32, CONFIG, GpuPipelineOptions.defaults(), true);
                     DeviceBatchStream s = in.epoch(0)) {
                    assertEquals(f == jpegs, in.choice().gpu(), in.choice().reason());
                    int seen = 0;
                    while (s.hasNext()) {
                        DeviceInputBatch b = s.next();
                        b.awaitOn(gpu.stream());
                        assertArrayEquals(new int[] {b.size(), 3, 32, 32}, b.view(0).shape());
                        seen += b.size();
                        b.release(gpu.stream());
                    }
                    assertEquals(9, seen);
                }
            }
            assertFalse(DeviceInput.choose(gpu, jpegs, "compress", false).gpu());
        }
    }
}
