// Throughput of the GPU data path (GpuBatchPipeline: file reads on CPU threads -> nvJPEG batched decode ->
// augmentation kernels -> device batch), in decoded + augmented images per second (the "images" counter), on a
// folder of JPEGs; the CPU DataLoader on the same folder for comparison. Needs a CUDA GPU (setup fails otherwise).
// Make an ImageNet-like folder first (scripts/gpu_loader_bench.sh does both):
//   java -cp bench/target/benchmarks.jar org.compress.bench.MakeImageNetLike /tmp/inet 4096
//   java -jar bench/target/benchmarks.jar GpuDataPipelineBench -p jpegFolder=/tmp/inet -p workers=8
// Target (issue 5): >= 8,000 img/s for ~110 KB ~400x350 JPEGs to 224x224 with `compress` on a 16-core host + H100.
package org.compress.bench;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.compress.engine.backend.cuda.CudaBackend;
import org.compress.engine.data.datasets.ImageFolder;
import org.compress.engine.data.gpu.EncodedDataset;
import org.compress.engine.data.gpu.GpuBatch;
import org.compress.engine.data.gpu.GpuBatchPipeline;
import org.compress.engine.data.gpu.GpuPipelineOptions;
import org.compress.engine.data.gpu.GpuRecipe;
import org.compress.engine.data.loader.Batch;
import org.compress.engine.data.loader.DataLoader;
import org.compress.engine.data.loader.LoaderConfig;
import org.compress.engine.tensor.DType;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx16g", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 1, time = 10)
@Measurement(iterations = 3, time = 10)
@State(Scope.Benchmark)
public class GpuDataPipelineBench {
    /** An ImageFolder of JPEGs (MakeImageNetLike writes one). */
    @Param({""}) String jpegFolder;
    @Param({"compress"}) String recipe;
    @Param({"224"}) int size;
    @Param({"256"}) int batch;
    @Param({"8"}) int workers;
    /** Share of hardware-capable images given to the NVJPG engines (the rest to the hybrid decoder). */
    @Param({"1.0"}) double hardwareShare;
    @Param({"F32"}) String output;

    /** Images delivered: JMH reports it per second. */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Delivered {
        public long images;

        @Setup(Level.Iteration) public void reset() { images = 0; }
    }

    CudaBackend gpu;
    ImageFolder folder;
    GpuBatchPipeline pipeline;
    DataLoader cpuLoader;
    GpuBatchPipeline.Epoch epoch;
    DataLoader.Epoch cpuEpoch;
    int epochs;

    @Setup(Level.Trial) public void setup() {
        if (jpegFolder.isEmpty()) throw new IllegalArgumentException("-p jpegFolder=DIR is required (MakeImageNetLike writes one)");
        folder = ImageFolder.open(Path.of(jpegFolder));
        if (folder.size() < batch) throw new IllegalArgumentException(jpegFolder + " holds " + folder.size() + " images, fewer than one batch of " + batch);
        LoaderConfig config = LoaderConfig.of(batch).workers(workers).prefetch(2 * workers).dropLast(true);
        gpu = CudaBackend.open(0);
        GpuRecipe r = GpuRecipe.byName(recipe, size);
        pipeline = new GpuBatchPipeline(gpu, EncodedDataset.of(folder), r, config,
                GpuPipelineOptions.defaults().slots(3).output(DType.valueOf(output)).hardware(true, hardwareShare));
        cpuLoader = new DataLoader(folder, r.cpuRecipe(), config);
        System.out.println("\n[gpu-data] " + folder.size() + " JPEGs, " + r + ", batch " + batch + ", " + workers + " workers, nvJPEG: "
                + pipeline.decoderInfo());
    }

    @TearDown(Level.Trial) public void tearDown() {
        if (epoch != null) epoch.close();
        if (cpuEpoch != null) cpuEpoch.close();
        System.out.println("\n[gpu-data] " + pipeline.stats());
        pipeline.close();
        cpuLoader.close();
        gpu.close();
    }

    /** GPU path: one batch per call, epochs wrapping around; the device is synchronised per batch (worst case). */
    @Benchmark public void gpuPath(Delivered d) {
        if (epoch == null || !epoch.hasNext()) {
            if (epoch != null) epoch.close();
            epoch = pipeline.epoch(epochs++);
        }
        GpuBatch b = epoch.next();
        b.awaitOn(gpu.stream());
        b.release(gpu.stream());
        gpu.synchronize();
        d.images += b.size();
    }

    /** CPU path on the same folder and workers: decode + augment on the host (no H2D copy). */
    @Benchmark public void cpuPath(Delivered d) {
        if (cpuEpoch == null || !cpuEpoch.hasNext()) {
            if (cpuEpoch != null) cpuEpoch.close();
            cpuEpoch = cpuLoader.epoch(epochs++);
        }
        try (Batch b = cpuEpoch.next()) {
            d.images += b.size();
        }
    }
}
