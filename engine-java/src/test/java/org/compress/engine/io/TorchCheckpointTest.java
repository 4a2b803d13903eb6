// The torch.save reader against files PyTorch 1.13 wrote (fixtures from scripts/make_torch_fixtures.py): every dtype,
// strided views, plain containers, MoCo/CompRess checkpoints; and hand-built archives for each refusal and bad input.
package org.compress.engine.io;

import org.compress.engine.testing.Fixtures;
import static org.compress.engine.io.SafetensorsTest.assertSameTensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TorchCheckpointTest {
    @TempDir Path dir;

    @Test void everyTensorKindAndContainerComesBackAsPyTorchWroteIt() {
        Map<?, ?> top = assertInstanceOf(Map.class, TorchCheckpoint.load(Fixtures.path("pickle_cases.pth")));
        Map<String, Tensor> expected = Safetensors.read(Fixtures.path("pickle_cases_expected.safetensors"));
        assertEquals(16, expected.size());
        for (Map.Entry<String, Tensor> e : expected.entrySet()) {
            Tensor got = assertInstanceOf(Tensor.class, top.get(e.getKey()), e.getKey());
            assertSameTensor(e.getKey(), e.getValue(), got); // strided views (transposed, sliced, channels_last, expanded) included
        }
        assertEquals(DType.BF16, ((Tensor) top.get("bf16")).dtype());
        assertEquals(DType.U8, ((Tensor) top.get("bool")).dtype());
        assertArrayEquals(new int[] {}, ((Tensor) top.get("scalar")).shape());
        assertArrayEquals(new int[] {4, 3, 2}, ((Tensor) top.get("transposed")).shape());

        var f64 = assertInstanceOf(TorchCheckpoint.UnsupportedTensor.class, top.get("f64"));
        assertEquals("torch.DoubleStorage", f64.storageType());
        assertArrayEquals(new int[] {2, 2}, f64.shape());

        List<?> nested = assertInstanceOf(List.class, top.get("nested"));
        assertEquals(Arrays.asList(1L, -2L, 1L << 40, BigInteger.TWO.pow(70).negate(), 1.5, "ünï", null, true, false),
                nested.subList(0, 9));
        assertEquals(List.of(1L, "a"), nested.get(9));
        Map<?, ?> inner = assertInstanceOf(Map.class, nested.get(10));
        Tensor ones = assertInstanceOf(Tensor.class, ((List<?>) inner.get("k")).get(0));
        assertArrayEquals(new float[] {1, 1}, ones.cpuStorage().f32());

        assertEquals(Map.of("lr", 0.1, "name", "x", "steps", List.of(1L, 2L)), top.get("namespace"));
        assertEquals(List.of("b", "a"), List.copyOf(((Map<?, ?>) top.get("ordered")).keySet()), "OrderedDict keeps its order");
        assertEquals("int key", top.get(7L));
    }

    @Test void mocoCheckpointExposesItsWholeStructure() {
        Map<?, ?> top = assertInstanceOf(Map.class, TorchCheckpoint.load(Fixtures.path("moco_checkpoint.pth.tar")));
        assertEquals(List.of("epoch", "arch", "state_dict", "optimizer"), List.copyOf(top.keySet()));
        assertEquals(200L, top.get("epoch"));
        assertEquals("resnet18", top.get("arch"));
        Map<?, ?> sd = (Map<?, ?>) top.get("state_dict");
        assertTrue(sd.containsKey("module.encoder_q.conv1.weight"));
        assertTrue(sd.containsKey("module.encoder_k.layer4.1.bn2.running_var"));
        assertArrayEquals(new int[] {16, 32}, ((Tensor) sd.get("module.queue")).shape());
        assertEquals(DType.I64, ((Tensor) sd.get("module.queue_ptr")).dtype());
        Map<?, ?> optimizer = (Map<?, ?>) top.get("optimizer");
        Map<?, ?> state = (Map<?, ?>) optimizer.get("state");
        Map<?, ?> first = (Map<?, ?>) state.get(0L);
        assertInstanceOf(Tensor.class, first.get("momentum_buffer"), "optimizer state is keyed by int parameter ids");
        Map<?, ?> group = (Map<?, ?>) ((List<?>) optimizer.get("param_groups")).get(0);
        assertEquals(0.03, group.get("lr"));
        assertEquals(Boolean.FALSE, group.get("nesterov"));
    }

    @Test void compressCheckpointOptionsBecomeAPlainMap() {
        Map<?, ?> top = assertInstanceOf(Map.class, TorchCheckpoint.load(Fixtures.path("compress_checkpoint.pth")));
        Map<?, ?> opt = assertInstanceOf(Map.class, top.get("opt"));
        assertEquals("resnet18", opt.get("student_arch"));
        assertEquals(List.of(90L, 120L), opt.get("lr_decay_epochs"));
        assertNull(opt.get("gpu"));
        assertEquals(128000L, opt.get("compress_memory_size"));
        assertTrue(((Map<?, ?>) top.get("model")).containsKey("module.layer1.0.conv1.weight"));
    }

    @Test void legacyFormatFilesLoadAsPyTorchWroteThem() {
        // the smallest legacy file (two tensors) and a richer one: Parameter, F16/BF16, shared-storage views, float64
        Map<?, ?> small = assertInstanceOf(Map.class, TorchCheckpoint.load(Fixtures.path("legacy_format.pth")));
        assertArrayEquals(new float[] {1, 1}, ((Tensor) small.get("conv.weight")).cpuStorage().f32());
        assertArrayEquals(new long[] {3}, ((Tensor) small.get("bn.num_batches_tracked")).cpuStorage().i64());

        Map<?, ?> top = assertInstanceOf(Map.class, TorchCheckpoint.load(Fixtures.path("legacy_cases.pth")));
        assertEquals(3L, top.get("epoch"));
        assertEquals("resnet18", top.get("arch"));
        Map<?, ?> sd = assertInstanceOf(Map.class, top.get("state_dict"));
        Map<String, Tensor> expected = Safetensors.read(Fixtures.path("legacy_cases_expected.safetensors"));
        assertEquals(8, expected.size());
        for (Map.Entry<String, Tensor> e : expected.entrySet()) {
            assertSameTensor(e.getKey(), e.getValue(), assertInstanceOf(Tensor.class, sd.get(e.getKey()), e.getKey()));
        }
        assertEquals(DType.F16, ((Tensor) sd.get("half")).dtype());
        assertEquals("torch.DoubleStorage", assertInstanceOf(TorchCheckpoint.UnsupportedTensor.class, sd.get("double")).storageType());
        // and through the loader a model uses, with the declared architecture checked
        var loader = StateDictLoader.of("torchvision");
        assertEquals(java.util.Optional.of("resnet18"), loader.declaredArchitecture(top));
        var wrongArch = assertThrows(UnknownArchitectureException.class,
                () -> loader.checkArchitecture(top, "legacy_cases.pth", "resnet50", List.of("resnet18", "resnet50")));
        assertTrue(wrongArch.getMessage().contains("saved for architecture 'resnet18'"), wrongArch.getMessage());
    }

    @Test void legacyFilesFollowTheSamePickleRulesAndFailClearlyWhenCut() throws IOException {
        byte[] legacy = Files.readAllBytes(Fixtures.path("legacy_cases.pth"));
        Path cut = Files.write(dir.resolve("cut-legacy.pth"), Arrays.copyOf(legacy, legacy.length - 10));
        var t = assertThrows(CheckpointException.class, () -> TorchCheckpoint.load(cut));
        assertTrue(t.getMessage().startsWith(cut.toString()) && t.getMessage().contains("truncated"), t.getMessage());
        // a GLOBAL outside the fixed table in the legacy object pickle is refused, as in the zip format
        String text = new String(legacy, java.nio.charset.StandardCharsets.ISO_8859_1);
        int at = text.indexOf("collections\nOrderedDict");
        assertTrue(at > 0, "the fixture pickles an OrderedDict");
        byte[] evil = legacy.clone();
        String original = "collections\nOrderedDict\n";
        byte[] os = ("posix\nsystem\n" + "\n".repeat(original.length() - 13)).getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        System.arraycopy(os, 0, evil, at, original.length());
        Path bad = Files.write(dir.resolve("evil-legacy.pth"), evil);
        var e = assertThrows(CheckpointException.class, () -> TorchCheckpoint.load(bad));
        assertTrue(e.getMessage().contains("refusing pickle GLOBAL 'posix.system"), e.getMessage());
    }

    @Test void aDamagedZipMemberFailsItsCrcCheck() throws IOException {
        byte[] moco = Files.readAllBytes(Fixtures.path("moco_checkpoint.pth.tar"));
        // torch stores members uncompressed: flip one byte deep inside the tensor data (past the pickle, before the directory)
        byte[] damaged = moco.clone();
        int at = moco.length / 2;
        damaged[at] ^= 0x10;
        Path f = Files.write(dir.resolve("damaged.pth.tar"), damaged);
        var e = assertThrows(CheckpointException.class, () -> TorchCheckpoint.load(f));
        assertTrue(e.getMessage().startsWith(f.toString()) && e.getMessage().contains("is damaged: CRC-32"), e.getMessage());
        assertTrue(TorchCheckpoint.load(Fixtures.path("moco_checkpoint.pth.tar")) instanceof Map<?, ?>, "the intact file loads");
    }

    @Test void codeInAPickleIsNeverRunAndNamedInTheError() throws IOException {
        byte[] evil = new PickleBytes().proto().global("posix", "system").str("touch /tmp/pwned").op(0x85).reduce().stop().bytes();
        Path f = PickleBytes.zip(dir.resolve("evil.pth"), evil, Map.of());
        var e = assertThrows(CheckpointException.class, () -> TorchCheckpoint.load(f));
        assertTrue(e.getMessage().contains("refusing pickle GLOBAL 'posix.system'"), e.getMessage());
        assertTrue(e.getMessage().contains("never runs code"), e.getMessage());
        assertTrue(e.getMessage().contains("torch._utils._rebuild_tensor_v2"), "lists what is allowed: " + e.getMessage());

        byte[] build = new PickleBytes().proto().emptyDict().emptyDict().op('b').stop().bytes();
        var b = assertThrows(CheckpointException.class, () -> TorchCheckpoint.load(PickleBytes.zip(dir.resolve("b.pth"), build, Map.of())));
        assertTrue(b.getMessage().contains("BUILD on a dict of 0 is not supported"), b.getMessage());
    }

    @Test void handBuiltTensorArchiveLoadsAndItsBadVariantsFailClearly() throws IOException {
        byte[] data = PickleBytes.floats(0, 1, 2, 3, 4, 5);
        // A 2x2 view at offset 1 with strides (2, 1): elements 1, 2, 3, 4.
        byte[] ok = new PickleBytes().proto().emptyDict().str("w").floatTensor(6, 1, new int[] {2, 2}, new int[] {2, 1})
                .setItem().stop().bytes();
        Map<?, ?> m = (Map<?, ?>) TorchCheckpoint.load(PickleBytes.zip(dir.resolve("ok.pth"), ok, Map.of("0", data)));
        assertArrayEquals(new float[] {1, 2, 3, 4}, ((Tensor) m.get("w")).cpuStorage().f32());

        byte[] outside = new PickleBytes().proto().floatTensor(6, 3, new int[] {2, 2}, new int[] {2, 1}).stop().bytes();
        expect("outside", outside, Map.of("0", data), "reaches element 6 but storage '0' holds 6");
        expect("no storage", ok, Map.of(), "storage '0' is referenced but archive/data/0 is missing");
        expect("short storage", ok, Map.of("0", PickleBytes.floats(1, 2)), "storage '0' holds 8 bytes but 6 elements of torch.FloatStorage need 24");
        expect("truncated pickle", Arrays.copyOf(ok, ok.length - 10), Map.of("0", data), "(truncated?)");
        expect("bad opcode", new PickleBytes().proto().op('i').stop().bytes(), Map.of(), "unsupported pickle opcode 0x69 ('i')");
        expect("protocol 0", new PickleBytes().op(0x80).op(0).stop().bytes(), Map.of(), "pickle protocol 0 (expected 2 to 5)");
        expect("underflow", new PickleBytes().proto().setItem().stop().bytes(), Map.of(), "stack underflow");
        expect("unfinished", new PickleBytes().proto().emptyDict().emptyDict().stop().bytes(), Map.of(), "STOP with 2 values");
    }

    @Test void truncatedAndForeignFilesAreNamedForWhatTheyAre() throws IOException {
        byte[] moco = Files.readAllBytes(Fixtures.path("moco_checkpoint.pth.tar"));
        Path cut = Files.write(dir.resolve("cut.pth"), Arrays.copyOf(moco, moco.length / 2));
        var t = assertThrows(CheckpointException.class, () -> TorchCheckpoint.load(cut));
        assertTrue(t.getMessage().contains("not a complete zip archive (truncated or corrupt?)"), t.getMessage());

        Path st = Fixtures.path("pickle_cases_expected.safetensors");
        var s = assertThrows(CheckpointException.class, () -> TorchCheckpoint.load(st));
        assertTrue(s.getMessage().contains("not a PyTorch checkpoint (no zip header; starts with"), s.getMessage());
        var empty = assertThrows(CheckpointException.class, () -> TorchCheckpoint.load(Files.write(dir.resolve("e.pth"), new byte[0])));
        assertTrue(empty.getMessage().contains("empty file"), empty.getMessage());
        byte[] barePickle = new PickleBytes().proto().emptyDict().stop().bytes();
        var bare = assertThrows(CheckpointException.class, () -> TorchCheckpoint.load(Files.write(dir.resolve("p.pkl"), barePickle)));
        assertTrue(bare.getMessage().contains("a bare pickle, not a torch.save zip archive"), bare.getMessage());
    }

    private void expect(String what, byte[] pickle, Map<String, byte[]> storages, String fragment) throws IOException {
        Path f = PickleBytes.zip(dir.resolve(what.replace(' ', '_') + ".pth"), pickle, storages);
        var e = assertThrows(CheckpointException.class, () -> TorchCheckpoint.load(f), what);
        assertTrue(e.getMessage().contains(fragment), what + ": " + e.getMessage());
        assertTrue(e.getMessage().startsWith(f.toString()), what + " names the file: " + e.getMessage());
    }
}
