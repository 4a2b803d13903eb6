// Presets, head dropping, dtype conversion and strict matching, on the MoCo and CompRess torch.save fixtures and
// on small hand-made state dicts for every way a checkpoint can fail to fit a model.
package org.compress.engine.io;

import org.compress.engine.testing.Fixtures;
import static org.compress.engine.io.SafetensorsTest.assertSameTensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.compress.engine.tensor.BFloat16;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.TorchvisionNames;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StateDictLoaderTest {
    static final Set<String> KNOWN = Set.of("resnet18", "resnet50");
    @TempDir Path dir;

    @Test void mocoPresetYieldsExactlyTheQueryEncoderBackbone() {
        Map<String, Tensor> expected = new LinkedHashMap<>();
        Safetensors.read(Fixtures.path("checkpoint_expected.safetensors")).forEach((k, v) -> {
            if (k.startsWith("moco.q.") && !k.startsWith("moco.q.fc.")) expected.put(k.substring("moco.q.".length()), v);
        });
        Map<String, int[]> shapes = TorchvisionNames.resnet18(8, 0);
        assertEquals(shapes.keySet(), expected.keySet(), "the expected backbone is torchvision's ResNet-18 without fc");

        Map<String, Tensor> loaded = StateDictLoader.of("moco").dropHeads(true).load(Fixtures.path("moco_checkpoint.pth.tar"), shapes);
        assertEquals(List.copyOf(shapes.keySet()), List.copyOf(loaded.keySet()), "returned in the model's order");
        for (String k : shapes.keySet()) assertSameTensor(k, expected.get(k), loaded.get(k)); // bit for bit, not encoder_k's
    }

    @Test void mocoHeadIsKeptWhenAskedAndRejectedStrictlyWhenNot() {
        Path moco = Fixtures.path("moco_checkpoint.pth.tar");
        Map<String, int[]> withMlp = TorchvisionNames.resnet18(8, 0);
        withMlp.put("fc.0.weight", new int[] {64, 64});
        withMlp.put("fc.0.bias", new int[] {64});
        withMlp.put("fc.2.weight", new int[] {16, 64});
        withMlp.put("fc.2.bias", new int[] {16});
        assertEquals(withMlp.size(), StateDictLoader.of("moco").load(moco, withMlp).size());

        var e = assertThrows(CheckpointMismatchException.class,
                () -> StateDictLoader.of("moco").load(moco, TorchvisionNames.resnet18(8, 1000)));
        assertEquals(List.of("fc.weight", "fc.bias"), e.missing());
        assertEquals(List.of("fc.0.weight", "fc.0.bias", "fc.2.weight", "fc.2.bias"), e.unexpected());
        assertTrue(e.getMessage().contains("moco_checkpoint.pth.tar (preset moco) does not match the model (strict loading): "
                + "2 missing, 4 unexpected, 0 with the wrong shape"), e.getMessage());
    }

    @Test void compressPresetReadsTheStudentUnderModelAndChecksItsArchitecture() {
        Path file = Fixtures.path("compress_checkpoint.pth");
        Map<String, Tensor> expected = new LinkedHashMap<>();
        Safetensors.read(Fixtures.path("checkpoint_expected.safetensors")).forEach((k, v) -> {
            if (k.startsWith("compress.model.")) expected.put(k.substring("compress.model.".length()), v);
        });
        StateDictLoader loader = StateDictLoader.of(StateDictLoader.Preset.COMPRESS);
        Map<String, Tensor> loaded = loader.load(file, TorchvisionNames.resnet18(8, 0));
        for (String k : expected.keySet()) assertSameTensor(k, expected.get(k), loaded.get(k));

        Object checkpoint = StateDictLoader.readCheckpoint(file);
        assertEquals(Optional.of("resnet18"), loader.declaredArchitecture(checkpoint), "opt.student_arch");
        loader.checkArchitecture(checkpoint, file.toString(), "ResNet18", KNOWN);
        var wrong = assertThrows(UnknownArchitectureException.class, () -> loader.checkArchitecture(checkpoint, "ckpt", "resnet50", KNOWN));
        assertEquals("ckpt was saved for architecture 'resnet18' but is being loaded into 'resnet50'", wrong.getMessage());
        var unknown = assertThrows(UnknownArchitectureException.class, () -> loader.checkArchitecture(checkpoint, "ckpt", "vit_b16", KNOWN));
        assertEquals("unknown architecture 'vit_b16'; known: resnet18, resnet50", unknown.getMessage());
        assertEquals(Optional.of("resnet18"), StateDictLoader.of("moco").declaredArchitecture(
                StateDictLoader.readCheckpoint(Fixtures.path("moco_checkpoint.pth.tar"))), "MoCo's top-level arch");
    }

    @Test void mismatchListsEveryProblemOnceWithCounts() {
        Map<String, int[]> expected = new LinkedHashMap<>();
        Map<String, Tensor> sd = new LinkedHashMap<>();
        for (int i = 0; i < 25; i++) expected.put("missing." + i, new int[] {1});
        expected.put("w", new int[] {4, 3});
        expected.put("b", new int[] {4});
        expected.put("ok", new int[] {2});
        sd.put("w", Tensor.cpuZeros(DType.F32, 3, 4));
        sd.put("b", Tensor.cpuZeros(DType.F32, 4, 1));
        sd.put("ok", Tensor.cpuZeros(DType.F32, 2));
        sd.put("extra.a", Tensor.cpuZeros(DType.F32, 1));
        sd.put("extra.b", Tensor.cpuZeros(DType.F32, 1));
        var e = assertThrows(CheckpointMismatchException.class, () -> StateDictLoader.requireMatch("t.pth", sd, expected));
        assertEquals(25, e.missing().size());
        assertEquals(List.of("extra.a", "extra.b"), e.unexpected());
        assertEquals(List.of("w: checkpoint [3, 4] vs model [4, 3]", "b: checkpoint [4, 1] vs model [4]"), e.misshaped());
        String m = e.getMessage();
        assertTrue(m.startsWith("t.pth does not match the model (strict loading): 25 missing, 2 unexpected, 2 with the wrong shape"), m);
        assertTrue(!m.contains("\n") && m.length() <= 300, "one line of at most 300 characters: " + m);
        assertTrue(m.contains("missing: missing.0, ...") && m.contains("(full lists in the log)"), m);
        String all = e.details();
        assertTrue(all.contains("missing (in the model, not in the checkpoint) [25]:\n    missing.0\n"), all);
        assertTrue(all.contains("\n    missing.24\n"), "every key is listed in the details: " + all);
        assertTrue(all.contains("wrong shape [2]:\n    w: checkpoint [3, 4] vs model [4, 3]"), all);
    }

    @Test void aSummaryWithContextAndALongPathKeepsTheNameTheCountsAndThePointer() {
        String source = "/data/" + "nested-folder/".repeat(20) + "teacher.pth (preset moco)";
        Map<String, int[]> expected = new LinkedHashMap<>();
        expected.put("w", new int[] {4, 3});
        var e = assertThrows(CheckpointMismatchException.class,
                () -> StateDictLoader.requireMatch(source, Map.of("w", Tensor.cpuZeros(DType.F32, 3, 4)), expected));
        String s = e.summary("checkpoint does not fit a resnet18 of base width 4 with the small-input stem: ");
        assertTrue(s.length() <= 300, s.length() + ": " + s);
        assertTrue(s.startsWith("checkpoint does not fit a resnet18 of base width 4 with the small-input stem: /data/nested-folder/"), s);
        assertTrue(s.contains(".../teacher.pth (preset moco) does not match the model (strict loading): 0 missing, 0 unexpected, 1 with the"
                + " wrong shape") && s.endsWith(" (full lists in the log)"), s);
        assertTrue(e.details().startsWith(source + " does not match"), "the log names the whole path: " + e.details());
    }

    @Test void swavPresetStripsModuleAndDropsItsHeadsFromASafetensorsFile() {
        Map<String, Tensor> sd = new LinkedHashMap<>();
        sd.put("module.conv1.weight", Tensor.cpu(new float[] {1, 2}, 2));
        sd.put("module.projection_head.0.weight", Tensor.cpu(new float[] {3}, 1));
        sd.put("module.prototypes.weight", Tensor.cpu(new float[] {4}, 1));
        sd.put("bn.num_batches_tracked", Tensor.cpuZeros(DType.I64));
        Path f = dir.resolve("swav.safetensors");
        Safetensors.write(f, sd);
        Map<String, int[]> model = new LinkedHashMap<>();
        model.put("conv1.weight", new int[] {2});
        model.put("bn.num_batches_tracked", new int[] {});
        Map<String, Tensor> loaded = StateDictLoader.of("swav").dropHeads(true).convertFloatingTo(DType.BF16).load(f, model);
        assertEquals(DType.BF16, loaded.get("conv1.weight").dtype());
        assertEquals(2f, BFloat16.toFloat(loaded.get("conv1.weight").cpuStorage().u16()[1]));
        assertEquals(DType.I64, loaded.get("bn.num_batches_tracked").dtype(), "integer buffers keep their dtype");

        var kept = assertThrows(CheckpointMismatchException.class, () -> StateDictLoader.of("swav").load(f, model));
        assertEquals(List.of("projection_head.0.weight", "prototypes.weight"), kept.unexpected());
    }

    @Test void conversionRoundsToNearestEvenAndWidensExactly() {
        float[] v = {1f, 1.00390625f, 1.01171875f, -3.3f, 65504f};
        Tensor bf = StateDictLoader.convert(Tensor.cpu(v, 5), DType.BF16);
        Tensor back = StateDictLoader.convert(bf, DType.F32);
        float[] want = new float[v.length];
        for (int i = 0; i < v.length; i++) want[i] = BFloat16.round(v[i]);
        assertArrayEquals(want, back.cpuStorage().f32());
        assertEquals(1f, want[1], "a tie rounds to even");
        Tensor f16 = StateDictLoader.convert(Tensor.cpu(v, 5), DType.F16);
        assertEquals(65504f, StateDictLoader.convert(f16, DType.F32).cpuStorage().f32()[4], "F16's largest finite value survives");
    }

    @Test void badCheckpointsFailWithClearMessages() {
        StateDictLoader moco = StateDictLoader.of("moco");
        var noPrefix = assertThrows(CheckpointException.class,
                () -> moco.adapt(Map.of("state_dict", Map.of("conv1.weight", Tensor.cpu(new float[] {1}, 1))), "plain.pth"));
        assertTrue(noPrefix.getMessage().contains("no key starts with 'module.encoder_q.' as the moco preset expects;"
                + " the first keys are [conv1.weight] (pick another preset?)"), noPrefix.getMessage());

        var f64 = assertThrows(CheckpointException.class, () -> StateDictLoader.of("torchvision")
                .adapt(Map.of("w", new TorchCheckpoint.UnsupportedTensor("torch.DoubleStorage", new int[] {2})), "d.pth"));
        assertTrue(f64.getMessage().contains("tensor 'w' is torch.DoubleStorage[2] and the engine has no such dtype"), f64.getMessage());

        var notTensor = assertThrows(CheckpointException.class,
                () -> StateDictLoader.of("torchvision").adapt(Map.of("state_dict", Map.of("epoch", 3L)), "e.pth"));
        assertTrue(notTensor.getMessage().contains("state dict entry 'epoch' is Long 3, not a tensor"), notTensor.getMessage());

        var noStateDict = assertThrows(CheckpointException.class,
                () -> StateDictLoader.of("moco").adapt(Map.of("epoch", 3L, "weights", List.of()), "n.pth"));
        assertTrue(noStateDict.getMessage().contains("found no state dict: none of [state_dict] holds a dict"), noStateDict.getMessage());

        var preset = assertThrows(CheckpointException.class, () -> StateDictLoader.of("simclr"));
        assertEquals("unknown checkpoint preset 'simclr'; known: torchvision, moco, swav, compress", preset.getMessage());

        var clash = assertThrows(CheckpointException.class, () -> StateDictLoader.of("swav").adapt(
                Map.of("module.w", Tensor.cpu(new float[] {1}, 1), "w", Tensor.cpu(new float[] {2}, 1)), "c.pth"));
        assertTrue(clash.getMessage().contains("both become 'w'"), clash.getMessage());
    }

    @Test void truncatedCheckpointsFailThroughTheLoaderToo() throws Exception {
        byte[] bytes = java.nio.file.Files.readAllBytes(Fixtures.path("resnet18_small.safetensors"));
        Path cut = java.nio.file.Files.write(dir.resolve("cut.safetensors"), java.util.Arrays.copyOf(bytes, bytes.length - 100));
        var e = assertThrows(CheckpointException.class, () -> StateDictLoader.of("torchvision").load(cut, Map.of()));
        assertTrue(e.getMessage().contains("truncated: tensor"), e.getMessage());
        assertTrue(e.getMessage().contains("(100 bytes missing)"), e.getMessage());
    }
}
