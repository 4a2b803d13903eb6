// Chooses how training batches reach the GPU and opens that path: the GPU data path (nvJPEG + augmentation
// kernels, GpuBatchPipeline) only on the CUDA backend, for JPEG image folders and a recipe with a GPU form;
// otherwise the CPU DataLoader (the reference) with DevicePrefetcher's pinned H2D copies. Both yield
// DeviceInputBatch, so a training step does not know which one runs.
package org.compress.engine.data.gpu;

import java.util.Locale;
import java.util.Set;
import org.compress.engine.EngineException;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cuda.CudaBackend;
import org.compress.engine.data.CorruptSampleException;
import org.compress.engine.data.cuda.DeviceBatchStream;
import org.compress.engine.data.cuda.DeviceInputBatch;
import org.compress.engine.data.cuda.DevicePrefetcher;
import org.compress.engine.data.datasets.Dataset;
import org.compress.engine.data.datasets.ImageFolder;
import org.compress.engine.data.io.ImageFormat;
import org.compress.engine.data.loader.DataLoader;
import org.compress.engine.data.loader.LoaderConfig;
import org.compress.engine.data.transforms.Recipes;
import org.compress.engine.tensor.DType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public final class DeviceInput implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DeviceInput.class);
    private static final Set<String> GPU_RECIPES = Set.of("compress", "mocov2", "eval");
    /** Files sniffed to call a folder a JPEG dataset, and the share of them that must be JPEG. */
    static final int SNIFFED = 64;
    static final double JPEG_SHARE = 0.9;

    /** Which path, and why (for the run log). */
    public record Choice(boolean gpu, String reason) {}

    private final Choice choice;
    private final GpuBatchPipeline pipeline;
    private final DataLoader loader;
    private final CudaBackend backend;
    private final int slots;

    private DeviceInput(Choice choice, GpuBatchPipeline pipeline, DataLoader loader, CudaBackend backend, int slots) {
        this.choice = choice;
        this.pipeline = pipeline;
        this.loader = loader;
        this.backend = backend;
        this.slots = slots;
    }

    /** The GPU path when it applies (and allowGpu), else the CPU loader; never throws for "GPU not possible". */
    public static Choice choose(Backend backend, Dataset dataset, String recipe, boolean allowGpu) {
        if (!allowGpu) return new Choice(false, "GPU data path turned off");
        if (!(backend instanceof CudaBackend)) return new Choice(false, "not the CUDA backend (" + backend.name() + ")");
        if (!GPU_RECIPES.contains(recipe)) return new Choice(false, "recipe '" + recipe + "' has no GPU form (compress, mocov2, eval do)");
        if (!(dataset instanceof ImageFolder folder)) {
            return new Choice(false, "not an image folder (" + dataset.getClass().getSimpleName() + " holds decoded arrays)");
        }
        double share = jpegShare(folder);
        if (share < JPEG_SHARE) {
            return new Choice(false, String.format(Locale.ROOT, "not a JPEG dataset (%.0f%% of the sniffed files are JPEG)", 100 * share));
        }
        String nvjpeg = NvJpegDecoder.unavailableReason();
        if (nvjpeg != null) return new Choice(false, nvjpeg);
        return new Choice(true, String.format(Locale.ROOT, "CUDA backend, JPEG image folder (%.0f%% JPEG), recipe %s", 100 * share, recipe));
    }

    /** Share of JPEGs (by magic bytes) among up to SNIFFED files spread evenly over the folder. */
    static double jpegShare(ImageFolder folder) {
        int n = Math.min(SNIFFED, folder.size()), jpeg = 0, read = 0;
        EncodedDataset files = EncodedDataset.of(folder);
        for (int k = 0; k < n; k++) {
            int idx = (int) ((long) k * folder.size() / n);
            try {
                byte[] b = files.bytes(idx);
                read++;
                if (ImageFormat.sniff(b) == ImageFormat.JPEG) jpeg++;
            } catch (CorruptSampleException e) {
                // unreadable files say nothing about the format; the loader reports them
            }
        }
        return read == 0 ? 0 : (double) jpeg / read;
    }

    /**
     * Opens the chosen path for `recipe` at `size` (Recipes.byName / GpuRecipe.byName). The CPU path copies F32
     * batches; options.output() = BF16 applies to the GPU path only.
     */
    public static DeviceInput open(CudaBackend backend, Dataset dataset, String recipe, int size, LoaderConfig config,
                                   GpuPipelineOptions options, boolean allowGpu) {
        Choice c = choose(backend, dataset, recipe, allowGpu);
        if (c.gpu()) {
            try {
                GpuBatchPipeline p = new GpuBatchPipeline(backend, EncodedDataset.of((ImageFolder) dataset), GpuRecipe.byName(recipe, size),
                        config, options);
                LOG.info("data path: GPU (nvJPEG + augmentation kernels; {})", c.reason());
                return new DeviceInput(c, p, null, backend, options.slots());
            } catch (EngineException e) {
                // The CPU loader is the fallback: a GPU path that cannot start must not stop the run.
                LOG.warn("GPU data path could not start, using the CPU loader: {}", e.getMessage());
                c = new Choice(false, "GPU data path could not start: " + e.getMessage());
            }
        }
        LOG.info("data path: CPU loader + H2D copy ({})", c.reason());
        if (options.output() != DType.F32) LOG.info("CPU data path: batches stay F32 (BF16 output is a GPU-path option)");
        return new DeviceInput(c, null, new DataLoader(dataset, Recipes.byName(recipe, size), config), backend, options.slots());
    }

    public Choice choice() { return choice; }

    /** The batches of one epoch on the device. */
    public DeviceBatchStream epoch(int epoch) {
        if (pipeline != null) {
            GpuBatchPipeline.Epoch e = pipeline.epoch(epoch);
            return new DeviceBatchStream() {
                @Override public boolean hasNext() { return e.hasNext(); }
                @Override public DeviceInputBatch next() { return e.next(); }
                @Override public void close() { e.close(); }
            };
        }
        DevicePrefetcher p = new DevicePrefetcher(backend, loader, loader.epoch(epoch), slots);
        return new DeviceBatchStream() {
            @Override public boolean hasNext() { return p.hasNext(); }
            @Override public DeviceInputBatch next() { return p.next(); }
            @Override public void close() { p.close(); }
        };
    }

    @Override public void close() {
        if (pipeline != null) pipeline.close();
        if (loader != null) loader.close();
    }
}
