// The GPU staging path delivers exactly the host loader's batches (bitwise), labels included, through
// reused slots. Needs a GPU (skips with the reason otherwise); not yet run on one.
package org.compress.engine.data.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.compress.engine.backend.HostData;
import org.compress.engine.backend.cuda.CudaBackend;
import org.compress.engine.data.datasets.Dataset;
import org.compress.engine.data.image.U8Image;
import org.compress.engine.data.loader.Batch;
import org.compress.engine.data.loader.DataLoader;
import org.compress.engine.data.loader.LoaderConfig;
import org.compress.engine.data.transforms.Recipes;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Close;
import org.compress.engine.testing.GpuTest;
import org.junit.jupiter.api.Test;

@GpuTest
class DevicePrefetcherTest {
    static Dataset synthetic(int n) {
        return new Dataset() {
            @Override public int size() { return n; }
            @Override public int numClasses() { return 5; }
            @Override public int label(int i) { return i % 5; }
            @Override public String source(int i) { return "synthetic#" + i; }
            @Override public U8Image image(int i) {
                byte[] b = new byte[13 * 11 * 3];
                new SplittableRandom(i).nextBytes(b);
                return new U8Image(13, 11, 3, b);
            }
        };
    }

    @Test void deviceBatchesEqualHostBatches() {
        LoaderConfig cfg = LoaderConfig.of(7).seed(4);
        List<float[]> host = new ArrayList<>();
        List<int[]> hostLabels = new ArrayList<>();
        try (DataLoader loader = new DataLoader(synthetic(45), Recipes.mocov2(16), cfg); DataLoader.Epoch e = loader.epoch(2)) {
            while (e.hasNext()) try (Batch b = e.next()) {
                host.add(Arrays.copyOf(b.viewData(1), b.size() * 3 * 16 * 16));
                hostLabels.add(b.labels());
            }
        }
        try (CudaBackend gpu = CudaBackend.open(0);
             DataLoader loader = new DataLoader(synthetic(45), Recipes.mocov2(16), cfg)) {
            int k = 0;
            try (DevicePrefetcher p = new DevicePrefetcher(gpu, loader, loader.epoch(2), 2)) {
                while (p.hasNext()) {
                    DeviceBatch d = p.next();
                    d.awaitOn(gpu.stream());
                    try (Tensor v = gpu.download(d.view(1)); Tensor l = gpu.download(d.deviceLabels())) {
                        Close.assertBitwise("batch " + k, HostData.toFloats(v), host.get(k));
                        assertArrayEquals(hostLabels.get(k), l.cpuStorage().i32());
                    }
                    d.release(gpu.stream());
                    k++;
                }
            }
            assertEquals(host.size(), k);
        }
    }
}
