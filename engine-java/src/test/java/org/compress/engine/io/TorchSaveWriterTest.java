// The torch.save writer: what it writes reads back through this engine's torch.save reader bit for bit, and
// PyTorch's own torch.load gives the same tensors (names, dtypes, shapes, values) when python3-torch is installed.
package org.compress.engine.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipFile;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.PythonTorch;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TorchSaveWriterTest {
    /** Odd shapes, a 0-d int64 (BN's num_batches_tracked), a large int64 (LONG1 in the pickle), and bytes. */
    static Map<String, Tensor> sample() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        float[] w = new float[7 * 3 * 3 * 3];
        for (int i = 0; i < w.length; i++) w[i] = (i % 13) - 6.5f + i / 1024f;
        m.put("conv1.weight", Tensor.cpu(w, 7, 3, 3, 3));
        m.put("fc.bias", Tensor.cpu(new float[] {1.5f, -2.25f, 1e-30f}, 3));
        Tensor n = Tensor.cpuZeros(DType.I64);
        n.cpuStorage().i64()[0] = 5_000_000_000L;
        m.put("bn1.num_batches_tracked", n);
        Tensor big = Tensor.cpuZeros(DType.I64, 300);
        for (int i = 0; i < 300; i++) big.cpuStorage().i64()[i] = (long) i * i - 70_000;
        m.put("index", big);
        Tensor u8 = Tensor.cpuZeros(DType.U8, 2, 2);
        u8.cpuStorage().u8()[3] = (byte) 200;
        m.put("mask", u8);
        return m;
    }

    @Test void readsBackThroughTheEnginesTorchReader(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("state.pth");
        Map<String, Tensor> in = sample();
        TorchSaveWriter.write(file, in);
        @SuppressWarnings("unchecked")
        Map<String, Object> back = (Map<String, Object>) TorchCheckpoint.load(file);
        assertEquals(List.copyOf(in.keySet()), List.copyOf(back.keySet()), "keys, in order");
        for (var e : in.entrySet()) {
            Tensor a = e.getValue(), b = (Tensor) back.get(e.getKey());
            assertArrayEquals(a.shape(), b.shape(), e.getKey());
            assertEquals(a.dtype(), b.dtype(), e.getKey());
            switch (a.dtype()) {
                case F32 -> assertArrayEquals(a.cpuStorage().f32(), java.util.Arrays.copyOf(b.cpuStorage().f32(), (int) b.numel()), e.getKey());
                case I64 -> assertArrayEquals(a.cpuStorage().i64(), java.util.Arrays.copyOf(b.cpuStorage().i64(), (int) b.numel()), e.getKey());
                case U8 -> assertArrayEquals(a.cpuStorage().u8(), java.util.Arrays.copyOf(b.cpuStorage().u8(), (int) b.numel()), e.getKey());
                default -> throw new AssertionError(a.dtype());
            }
        }
        try (ZipFile zip = new ZipFile(file.toFile())) {   // also a well-formed zip to a standard reader
            assertEquals("3\n", new String(zip.getInputStream(zip.getEntry("archive/version")).readAllBytes()));
            assertTrue(zip.getEntry("archive/data/0").getSize() == 7 * 27 * 4);
        }
    }

    @Test void pytorchLoadsTheSameTensors(@TempDir Path dir) throws Exception {
        String reason = PythonTorch.unavailableReason();
        Assumptions.assumeTrue(reason == null, reason);
        Path file = dir.resolve("state.pth");
        TorchSaveWriter.write(file, sample());
        String script = """
                import sys, torch
                sd = torch.load(sys.argv[1], map_location="cpu")
                assert type(sd).__name__ == "OrderedDict", type(sd)
                for k, v in sd.items():
                    print(k, str(v.dtype).replace("torch.", ""), list(v.shape), repr(float(v.double().sum())), v.is_contiguous())
                """;
        PythonTorch.Output out = PythonTorch.run(script, file.toString());
        assertEquals(0, out.exitCode(), out.text());
        List<String> lines = out.text().lines().toList();
        double convSum = 0;
        for (float v : sample().get("conv1.weight").cpuStorage().f32()) convSum += v;
        long bigSum = 0;
        for (long v : sample().get("index").cpuStorage().i64()) bigSum += v;
        expectLine(lines.get(0), "conv1.weight float32 [7, 3, 3, 3]", convSum);
        expectLine(lines.get(1), "fc.bias float32 [3]", (double) 1.5f + (double) -2.25f + (double) 1e-30f);
        expectLine(lines.get(2), "bn1.num_batches_tracked int64 []", 5e9);
        expectLine(lines.get(3), "index int64 [300]", (double) bigSum);
        expectLine(lines.get(4), "mask uint8 [2, 2]", 200);
    }

    /** "name dtype [shape] SUM True": the sum of the values in double, exactly as computed here (same order, exact in double). */
    private static void expectLine(String line, String head, double sum) {
        assertTrue(line.startsWith(head + " ") && line.endsWith(" True"), "expected '" + head + " <sum> True', found '" + line + "'");
        double found = Double.parseDouble(line.substring(head.length() + 1, line.length() - " True".length()));
        assertEquals(sum, found, Math.abs(sum) * 1e-12, line);
    }
}
