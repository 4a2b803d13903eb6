// Models against torchvision 0.14: state dict keys in order, dtypes and shapes, and parameter counts, from
// fixtures dumped by src/test/resources/torchvision/dump_state_dict_shapes.py. Plus the small-input stem,
// wide ResNet-50, heads, embeddings, and loading a state dict.
package org.compress.engine.nn.models;

import static org.compress.engine.testing.Close.assertFiniteNonZero;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.nn.StateDictException;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Fills;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ModelsTest {
    static final Backend cpu = new CpuBackend();

    record Fixture(long parameters, List<String> lines) {}

    static Fixture fixture(String model) throws Exception {
        try (var in = ModelsTest.class.getResourceAsStream("/torchvision/" + model + ".txt");
             var r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String header = r.readLine();
            long params = Long.parseLong(header.replaceAll(".*: (\\d+) parameters", "$1"));
            List<String> lines = new ArrayList<>();
            for (String l; (l = r.readLine()) != null; ) lines.add(l.strip());
            return new Fixture(params, lines);
        }
    }

    static List<String> describe(Map<String, Tensor> state) {
        List<String> out = new ArrayList<>();
        state.forEach((k, t) -> out.add((k + " " + (t.dtype() == DType.I64 ? "int64" : "float32") + " "
                + String.join(",", Arrays.stream(t.shape()).mapToObj(Integer::toString).toList())).strip()));
        return out;
    }

    static Network build(String model, ModelConfig config) {
        Map<String, BiFunction<Backend, ModelConfig, Network>> builders = new LinkedHashMap<>();
        builders.put("resnet18", ResNet::resnet18);
        builders.put("resnet34", ResNet::resnet34);
        builders.put("resnet50", ResNet::resnet50);
        builders.put("alexnet", AlexNet::new);
        builders.put("mobilenet_v2", MobileNetV2::new);
        return builders.get(model).apply(cpu, config);
    }

    @ParameterizedTest @ValueSource(strings = {"resnet18", "resnet34", "resnet50", "alexnet", "mobilenet_v2"})
    void stateDictMatchesTorchvisionKeysShapesAndCounts(String model) throws Exception {
        Fixture f = fixture(model);
        try (Network net = build(model, ModelConfig.imagenet(1000))) {
            assertEquals(f.lines(), describe(net.stateDict()), model + " state dict");
            assertEquals(f.parameters(), net.parameterCount(), model + " parameter count");
        }
    }

    @Test void smallInputResNet18GivesFinite512dEmbeddings() {
        try (ResNet net = ResNet.resnet18(cpu, ModelConfig.smallImages(1))) {
            assertArrayEquals(new int[] {64, 1, 3, 3}, net.stateDict().get("conv1.weight").shape());
            assertTrue(!net.stateDict().containsKey("fc.weight"), "no head");
            Tensor x = cpu.upload(Fills.uniform(1, 2 * 28 * 28, 0, 1), 2, 1, 28, 28);
            Tensor e = net.forward(x);
            assertArrayEquals(new int[] {2, 512}, e.shape());
            float[] v = cpu.toFloatArray(e);
            assertFiniteNonZero("embedding", v);
            assertTrue(!Arrays.equals(Arrays.copyOf(v, 512), Arrays.copyOfRange(v, 512, 1024)), "two images, two embeddings");
        }
    }

    @Test void headsAndEmbeddings() {
        try (ResNet moco = ResNet.resnet18(cpu, ModelConfig.smallImages(3).withHead(Head.mlp(128)))) {
            Map<String, Tensor> s = moco.stateDict();
            assertArrayEquals(new int[] {512, 512}, s.get("fc.0.weight").shape());
            assertArrayEquals(new int[] {128, 512}, s.get("fc.2.weight").shape());
            Tensor out = moco.forward(cpu.upload(Fills.uniform(2, 2 * 3 * 16 * 16, -1, 1), 2, 3, 16, 16));
            assertArrayEquals(new int[] {2, 128}, out.shape());
            assertArrayEquals(new int[] {2, 512}, moco.embedding().shape());
            assertEquals(512, moco.embeddingDim());
            assertEquals(128, moco.outputDim());
        }
        try (MobileNetV2 mb = new MobileNetV2(cpu, ModelConfig.smallImages(1).withHead(Head.linear(10)))) {
            Tensor out = mb.eval().forward(cpu.upload(Fills.uniform(3, 2 * 28 * 28, 0, 1), 2, 1, 28, 28));
            assertArrayEquals(new int[] {2, 10}, out.shape());
            assertArrayEquals(new int[] {2, 1280}, mb.embedding().shape());
            assertFiniteNonZero("mobilenet logits", cpu.toFloatArray(out));
        }
    }

    @Test void wideResNet50ScalesEveryWidth() throws Exception {
        Fixture f = fixture("resnet50");
        // Width 2 keeps the test light; x4 (SimCLR's ResNet-50x4, 8192-d) is the same code with w = 4.
        try (ResNet net = ResNet.resnet50(cpu, ModelConfig.imagenet(1000).withWidth(2))) {
            Map<String, Tensor> s = net.stateDict();
            List<String> keys = f.lines().stream().map(l -> l.split(" ")[0]).toList();
            assertEquals(keys, new ArrayList<>(s.keySet()));
            assertArrayEquals(new int[] {128, 3, 7, 7}, s.get("conv1.weight").shape());
            assertArrayEquals(new int[] {128, 128, 3, 3}, s.get("layer1.0.conv2.weight").shape());
            assertArrayEquals(new int[] {4096, 2048, 1, 1}, s.get("layer4.0.downsample.0.weight").shape());
            assertArrayEquals(new int[] {1000, 4096}, s.get("fc.weight").shape());
            assertEquals(4096, net.embeddingDim());
        }
    }

    @Test void loadStateDictCopiesEverythingAndRejectsMisfits() {
        try (ResNet a = ResNet.resnet18(cpu, ModelConfig.smallImages(1).withSeed(1));
             ResNet b = ResNet.resnet18(cpu, ModelConfig.smallImages(1).withSeed(2))) {
            b.loadStateDict(a.stateDict());
            a.stateDict().forEach((k, t) -> assertArrayEquals(cpu.toFloatArray(t), cpu.toFloatArray(b.stateDict().get(k)), k));
            Map<String, Tensor> missing = new LinkedHashMap<>(a.stateDict());
            missing.remove("bn1.running_var");
            missing.put("fc.weight", cpu.zeros(DType.F32, 10, 512));
            var e = assertThrows(StateDictException.class, () -> b.loadStateDict(missing));
            assertTrue(e.getMessage().contains("missing [bn1.running_var]") && e.getMessage().contains("unexpected [fc.weight]"), e.getMessage());
            Map<String, Tensor> wrong = new LinkedHashMap<>(a.stateDict());
            wrong.put("conv1.weight", cpu.zeros(DType.F32, 64, 3, 3, 3));
            var w = assertThrows(StateDictException.class, () -> b.loadStateDict(wrong));
            assertTrue(w.getMessage().contains("conv1.weight: expected [64, 1, 3, 3] F32, found [64, 3, 3, 3] F32"), w.getMessage());
        }
    }
}
