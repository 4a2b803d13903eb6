// Loaded weights on the GPU: a checkpoint's state dict (every dtype the fixtures hold) survives upload and download
// bit for bit, and the safetensors writer refuses device tensors with a message saying what to do.
package org.compress.engine.io;

import org.compress.engine.testing.Fixtures;
import static org.compress.engine.io.SafetensorsTest.assertSameTensor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.compress.engine.backend.cuda.CudaBackend;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.GpuTest;
import org.compress.engine.testing.TorchvisionNames;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@GpuTest
class WeightsOnCudaTest {
    static CudaBackend gpu;
    @TempDir Path dir;

    @BeforeAll static void open() { gpu = CudaBackend.open(0); }

    @AfterAll static void close() { if (gpu != null) gpu.close(); }

    @Test void checkpointRoundTripsThroughTheDeviceAndBackToSafetensors() {
        Map<String, Tensor> loaded = StateDictLoader.of("moco").dropHeads(true)
                .load(Fixtures.path("moco_checkpoint.pth.tar"), TorchvisionNames.resnet18(8, 0));
        Map<String, Tensor> downloaded = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : loaded.entrySet()) {
            try (Tensor d = gpu.upload(e.getValue())) {
                downloaded.put(e.getKey(), gpu.download(d));
            }
        }
        Path f = dir.resolve("from_gpu.safetensors");
        Safetensors.write(f, downloaded);
        Map<String, Tensor> back = Safetensors.read(f);
        assertEquals(loaded.keySet(), back.keySet());
        for (String k : loaded.keySet()) assertSameTensor(k, loaded.get(k), back.get(k));

        try (Tensor onDevice = gpu.upload(loaded.get("conv1.weight"))) {
            var e = assertThrows(CheckpointException.class, () -> Safetensors.write(dir.resolve("x.safetensors"), Map.of("w", onDevice)));
            assertTrue(e.getMessage().contains("tensor 'w' is Tensor[8, 3, 7, 7] F32 on cuda:0; download it to the CPU first"), e.getMessage());
        }
    }
}
