// Every command end to end on the CPU at tiny scale (256 Fashion-MNIST images, ResNet-18 at base width 4):
// pretrain, distill 2q / 1q / 2q-nomomentum / from a teacher cache, the three evaluations, export (checked against
// PyTorch where python3-torch is installed), resume after the process was killed, keep-last, summary.csv,
// -c config.yaml with --print-config, and the one-line errors of bad input.
package org.compress.engine.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.io.Safetensors;
import org.compress.engine.io.TorchSaveWriter;
import org.compress.engine.nn.models.Head;
import org.compress.engine.nn.models.Network;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.train.DataSpec;
import org.compress.engine.train.Embeddings;
import org.compress.engine.train.KnnEvaluator;
import org.compress.engine.train.ModelCard;
import org.compress.engine.train.Models;
import org.compress.engine.train.TrainConfig;
import org.compress.engine.testing.PythonTorch;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CommandsTest {
    static final String[] TINY = {"--train-images", "256", "--test-images", "128", "--workers", "2", "--backend", "cpu", "--seed", "7",
            "--progress", "OFF"};
    /**
     * For the bitwise cache tests: the plain-Java backend, whose results do not depend on the batch an image comes in
     * (the fast backend's oneDNN convolutions choose their kernels by batch shape, so a cached embedding computed in a
     * batch of 256 and the online one in a training batch may differ in the last bits).
     */
    static final String[] REFERENCE = {"--backend", "cpu-reference"};
    static final String[] STUDENT = {"--width", "4", "-b", "64", "--queue", "256", "--lr", "0.1", "--lr-schedule", "cosine", "--log-every", "1"};

    Path dir;
    Path teacher;

    record Run(int code, String out, String err) {
        Run ok() {
            assertEquals(0, code, "exit code; stderr: " + err + "\nstdout: " + out);
            return this;
        }

        /** A failure with exactly one line of error that contains {@code text}. */
        void fails(String text) {
            assertEquals(1, code, "exit code; stdout: " + out);
            List<String> lines = err.lines().toList();
            assertEquals(1, lines.size(), "one line of error, found: " + err);
            assertTrue(lines.get(0).startsWith("error: ") && lines.get(0).contains(text), "expected '" + text + "' in: " + err);
        }
    }

    static Run cli(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = CompressCli.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Run(code, out.toString(), err.toString());
    }

    static String[] args(Object... parts) {
        List<String> a = new ArrayList<>();
        for (Object p : parts) {
            if (p instanceof String[] arr) a.addAll(Arrays.asList(arr));
            else a.add(String.valueOf(p));
        }
        return a.toArray(String[]::new);
    }

    static Path runDir(Path out, String kindSuffix) throws Exception {
        try (Stream<Path> s = Files.list(out)) {
            return s.filter(p -> p.getFileName().toString().endsWith(kindSuffix)).sorted().reduce((a, b) -> b)
                    .orElseThrow(() -> new AssertionError("no run *" + kindSuffix + " in " + out));
        }
    }

    static JsonNode summary(Path run) throws Exception { return new ObjectMapper().readTree(run.resolve("summary.json").toFile()); }

    @BeforeAll void pretrainTheTeacher(@TempDir Path tmp) throws Exception {
        dir = tmp;
        Path out = dir.resolve("pretrain");
        Run r = cli(args("pretrain", TINY, "--out", out, "--width", "4", "--epochs", "1", "-b", "64", "--moco-k", "256", "--moco-dim", "16",
                "--lr", "0.06", "--log-every", "1")).ok();
        teacher = runDir(out, "-pretrain").resolve("checkpoints/teacher.safetensors");
        assertTrue(r.out().contains(teacher.toString()), r.out());
        ModelCard card = ModelCard.read(teacher);
        assertEquals(ModelCard.ROLE_TEACHER, card.role());
        assertEquals(32, card.embeddingDim(), "ResNet-18 at base width 4 embeds in 8 * 4 dimensions");
        assertTrue(Files.size(teacher.getParent().getParent().resolve("loss-moco.png")) > 0);
    }

    @Test void distillEveryMethodAndTheLossFalls() throws Exception {
        for (String method : new String[] {"2q", "1q", "2q-nomomentum"}) {
            Path out = dir.resolve("distill-" + method);
            cli(args("distill", TINY, STUDENT, "--out", out, "--teacher", teacher, "--method", method, "--epochs", "3")).ok();
            Path run = runDir(out, "-distill-" + method);
            ModelCard card = ModelCard.read(run.resolve("checkpoints/student.safetensors"));
            assertEquals(ModelCard.ROLE_STUDENT, card.role());
            assertEquals(method.equals("1q") ? Head.Kind.LINEAR : Head.Kind.NONE, card.head().kind(), method);
            List<Double> losses = losses(run, "compress-" + method);
            assertEquals(12, losses.size(), "3 epochs of 4 batches");
            double first = (losses.get(0) + losses.get(1)) / 2, last = (losses.get(10) + losses.get(11)) / 2;
            assertTrue(last < 0.9 * first, method + ": loss " + first + " -> " + last);
            JsonNode config = new ObjectMapper().readTree(run.resolve("config.json").toFile());
            assertEquals(method, config.get("options").get("method").asText());
            assertEquals(teacher.toString(), config.get("resolved").get("teacher").get("checkpoint").asText());
        }
    }

    @Test void bf16MixedPrecisionReachesTheStudent() throws Exception {
        Path out = dir.resolve("precision");
        for (String p : new String[] {"FP32", "BF16_MIXED"}) {
            cli(args("distill", TINY, STUDENT, "--out", out.resolve(p), "--teacher", teacher, "--epochs", "1", "--precision", p)).ok();
        }
        Map<String, Tensor> fp32 = Safetensors.read(runDir(out.resolve("FP32"), "-distill-2q").resolve("checkpoints/student.safetensors"));
        Map<String, Tensor> bf16 = Safetensors.read(runDir(out.resolve("BF16_MIXED"), "-distill-2q").resolve("checkpoints/student.safetensors"));
        Tensor a = fp32.get("layer1.0.conv1.weight"), b = bf16.get("layer1.0.conv1.weight");
        assertEquals(org.compress.engine.tensor.DType.F32, b.dtype(), "the FP32 masters are what is saved");
        // both runs start from the same initialisation (student seed = run seed + 2); bf16 activations change the
        // trajectory (the runs differ) but by less than the training moved the weights. Only a loose bound holds after
        // 4 steps at lr 0.1 with tau 0.04 (logits x25 amplify bf16 rounding); bf16 numerics are tested op by op elsewhere
        Network init = Models.build(new CpuBackend(), new TrainConfig.Model("resnet18", 4, true, null, "torchvision"), 1, Head.none(), 7 + 2);
        float[] w0 = init.stateDict().get("layer1.0.conv1.weight").cpuStorage().f32();
        double apart = 0, moved = 0;
        for (int i = 0; i < a.numel(); i++) {
            apart += Math.pow(a.cpuStorage().f32()[i] - b.cpuStorage().f32()[i], 2);
            moved += Math.pow(a.cpuStorage().f32()[i] - w0[i], 2);
        }
        assertTrue(apart > 0, "BF16_MIXED must change the arithmetic");
        assertTrue(apart < moved, "|bf16 - fp32|^2 " + apart + " vs |fp32 - init|^2 " + moved);
        cli(args("distill", TINY, STUDENT, "--out", out, "--teacher", teacher, "--epochs", "1", "--precision", "fp8")).fails("expected FP32 or BF16_MIXED, found 'fp8'");
    }

    @Test void aCachedTeacherMatchesTheOnlineOneAndOtherDataIsRefused() throws Exception {
        Path out = dir.resolve("cache");
        cli(args("cache-teacher", TINY, REFERENCE, "--out", out, "--teacher", teacher)).ok();
        Path cache = runDir(out, "-cache-teacher").resolve("checkpoints/teacher-cache.safetensors");
        // the cache holds the teacher's centre-crop embeddings, row i = image i
        TrainConfig.Data data = new TrainConfig.Data("fashion-mnist", "/usr/share/datasets/fashion-mnist", 256, 128, 2, 28);
        DataSpec spec = DataSpec.of(data);
        CpuBackend cpu = new CpuBackend();
        Network t = Models.build(cpu, ModelCard.read(teacher).model(teacher.toString()), 1, Head.none(), 0);
        Models.load(t, teacher, "torchvision");
        Embeddings.Set online = Embeddings.of(cpu, t, spec.train(), spec.evalView(), 64, 1);
        Tensor cached = Safetensors.read(cache).get("embeddings");
        assertArrayEquals(new int[] {256, 32}, cached.shape());
        assertArrayEquals(online.values(), Arrays.copyOf(cached.cpuStorage().f32(), 256 * 32));

        cli(args("distill", TINY, REFERENCE, STUDENT, "--out", out, "--teacher-cache", cache, "--epochs", "3")).ok();
        List<Double> losses = losses(runDir(out, "-distill-2q"), "compress-2q");
        assertTrue(losses.get(11) + losses.get(10) < 0.9 * (losses.get(0) + losses.get(1)), "cached teacher: loss falls " + losses);

        long runs = runCount(out);
        cli(args("distill", TINY, REFERENCE, STUDENT, "--out", out, "--teacher-cache", cache, "--epochs", "1", "--train-images", "200"))
                .fails("was made for other data (256 images");
        assertEquals(runs, runCount(out), "refused before a run directory was made");

        // a cache of a wider teacher (64-d) next to this 32-d teacher: the dimensions do not match, said in one line
        Network wide = Models.build(cpu, new TrainConfig.Model("resnet18", 8, true, null, "torchvision"), 1, Head.none(), 3);
        Path wideTeacher = dir.resolve("wide/teacher.safetensors");
        Files.createDirectories(wideTeacher.getParent());
        Safetensors.write(wideTeacher, wide.stateDict(), new ModelCard(ModelCard.ROLE_TEACHER, "resnet18", 8, true, 1, 64, Head.none()).metadata());
        cli(args("cache-teacher", TINY, REFERENCE, "--out", out, "--teacher", wideTeacher, "-o", dir.resolve("wide/cache.safetensors"))).ok();
        cli(args("distill", TINY, REFERENCE, STUDENT, "--out", out, "--teacher", teacher, "--teacher-cache", dir.resolve("wide/cache.safetensors"), "--epochs", "1"))
                .fails("teacher cache holds 64-d embeddings but the teacher embeds in 32-d");
        assertEquals(runs + 1, runCount(out), "only cache-teacher's run was added");
    }

    static long runCount(Path out) throws Exception {
        try (Stream<Path> s = Files.list(out)) {
            return s.filter(Files::isDirectory).count();
        }
    }

    @Test void aCacheOfAugmentedViewsGivesTheOnlineTeachersRun() throws Exception {
        Path out = dir.resolve("views");
        Path cache = dir.resolve("views/cache.safetensors");
        Files.createDirectories(cache.getParent());
        cli(args("cache-teacher", TINY, REFERENCE, "--out", out, "--teacher", teacher, "--views", "3", "-o", cache)).ok();
        Tensor cached = Safetensors.read(cache).get("embeddings");
        assertArrayEquals(new int[] {3 * 256, 32}, cached.shape());
        // block 1 is the teacher's embedding of the CompRess view the training loader draws at epoch 1 (seed 7)
        DataSpec spec = DataSpec.of(new TrainConfig.Data("fashion-mnist", "/usr/share/datasets/fashion-mnist", 256, 128, 2, 28));
        CpuBackend cpu = new CpuBackend();
        Network t = Models.build(cpu, ModelCard.read(teacher).model(teacher.toString()), 1, Head.none(), 0);
        Models.load(t, teacher, "torchvision");
        float[] block1 = Arrays.copyOfRange(cached.cpuStorage().f32(), 256 * 32, 2 * 256 * 32);
        assertArrayEquals(Embeddings.of(cpu, t, spec.train(), spec.view(), 64, 1, 7, 1).values(), block1);
        assertTrue(!Arrays.equals(Arrays.copyOf(cached.cpuStorage().f32(), 256 * 32), block1), "the views differ");
        // for epochs below the view count the cached run sees exactly what the online teacher computes: same student
        cli(args("distill", TINY, REFERENCE, STUDENT, "--out", out.resolve("online"), "--teacher", teacher, "--epochs", "3")).ok();
        cli(args("distill", TINY, REFERENCE, STUDENT, "--out", out.resolve("cached"), "--teacher-cache", cache, "--epochs", "3")).ok();
        Map<String, Tensor> a = Safetensors.read(runDir(out.resolve("online"), "-distill-2q").resolve("checkpoints/student.safetensors"));
        Map<String, Tensor> b = Safetensors.read(runDir(out.resolve("cached"), "-distill-2q").resolve("checkpoints/student.safetensors"));
        for (String k : a.keySet()) {
            if (a.get(k).dtype() == org.compress.engine.tensor.DType.F32) assertArrayEquals(a.get(k).cpuStorage().f32(), b.get(k).cpuStorage().f32(), k);
        }
        cli(args("distill", TINY, REFERENCE, STUDENT, "--out", out, "--teacher-cache", cache, "--epochs", "1", "--seed", "8"))
                .fails("holds augmented views drawn with seed 7, this run uses seed 8");
    }

    @Test void theThreeEvaluationsAgreeWithTheirDefinitions() throws Exception {
        Path out = dir.resolve("eval");
        Run r = cli(args("eval", "all", TINY, "--out", out, "--weights", teacher, "-k", "1,20", "--linear-epochs", "5")).ok();
        JsonNode top1 = summary(runDir(out, "-eval")).get("top1");
        for (String m : new String[] {"nn", "knn20", "linear", "clusters"}) {
            double a = top1.get(m).asDouble();
            assertTrue(a > 0.1 && a <= 1, m + " = " + a + " (10 classes: chance is 0.1)");
            assertTrue(r.out().contains(m), r.out());
        }
        // NN and 20-NN are the k-NN of the teacher's centre-crop embeddings, recomputed here
        DataSpec spec = DataSpec.of(new TrainConfig.Data("fashion-mnist", "/usr/share/datasets/fashion-mnist", 256, 128, 2, 28));
        CpuBackend cpu = new CpuBackend();
        Network t = Models.build(cpu, ModelCard.read(teacher).model(teacher.toString()), 1, Head.none(), 0);
        Models.load(t, teacher, "torchvision");
        Embeddings.Set tr = Embeddings.of(cpu, t, spec.train(), spec.evalView(), 64, 1), te = Embeddings.of(cpu, t, spec.test(), spec.evalView(), 64, 1);
        KnnEvaluator knn = new KnnEvaluator(tr.values(), tr.labels(), tr.dim(), 10);
        assertEquals(knn.accuracy(te.values(), te.labels(), 1, 0.07), top1.get("nn").asDouble());
        assertEquals(knn.accuracy(te.values(), te.labels(), 20, 0.07), top1.get("knn20").asDouble());
        assertTrue(Files.exists(runDir(out, "-eval").resolve("checkpoints/linear-probe.safetensors")));

        cli(args("eval", "knn", "linear", TINY, "--out", out, "--weights", teacher, "--linear-epochs", "1")).ok();
        cli(args("eval", "clusters", TINY, "--out", out, "--weights", teacher, "--clusters", "20")).ok();
        cli(args("eval", "nearest", TINY, "--out", out, "--weights", teacher)).fails("expected knn, linear, clusters or all, found 'nearest'");
    }

    @Test void exportGivesTorchvisionWeightsThatPyTorchLoadsStrictly() throws Exception {
        Path out = dir.resolve("export");
        cli(args("distill", TINY, STUDENT, "--out", out, "--teacher", teacher, "--method", "1q", "--epochs", "1")).ok();
        Path student = runDir(out, "-distill-1q").resolve("checkpoints/student.safetensors");
        cli(args("eval", "linear", TINY, "--out", out, "--weights", student, "--linear-epochs", "2")).ok();
        Path probe = runDir(out, "-eval").resolve("checkpoints/linear-probe.safetensors");
        Path prefix = out.resolve("export/student");
        Files.createDirectories(prefix.getParent());
        Run r = cli(args("export", student, "--probe", probe, "-o", prefix)).ok();
        assertTrue(r.out().contains("num_classes=10"), r.out());
        Path backboneOnly = out.resolve("backbone");
        cli(args("export", student, "-o", backboneOnly)).ok();

        // the engine's own view of the export: backbone keys of a width-4 ResNet-18 (1q's projection dropped), + fc
        Map<String, Tensor> exported = Safetensors.read(Path.of(prefix + ".safetensors"));
        assertArrayEquals(new int[] {10, 32}, exported.get("fc.weight").shape());
        assertTrue(exported.containsKey("bn1.num_batches_tracked") && exported.containsKey("layer4.1.bn2.running_var"));
        assertEquals(exported.size() - 2, Safetensors.read(Path.of(backboneOnly + ".safetensors")).size());

        // the exported .pth is PyTorch weights a user could bring: distill takes it as an online teacher by its options
        cli(args("distill", TINY, STUDENT, "--out", out.resolve("from-pth"), "--teacher", backboneOnly + ".pth", "--teacher-arch", "resnet18",
                "--teacher-width", "4", "--teacher-preset", "torchvision", "--epochs", "1")).ok();
        assertTrue(Files.exists(runDir(out.resolve("from-pth"), "-distill-2q").resolve("checkpoints/student.safetensors.done")));

        // a teacher is not a student
        cli(args("export", teacher, "-o", out.resolve("x"))).fails("is a teacher checkpoint, not a student");

        // the .pth as a foreign checkpoint of the wrong width: a one-line mismatch error naming the width
        cli(args("eval", "knn", TINY, "--out", out, "--weights", backboneOnly + ".pth", "--arch", "resnet18", "--width", "8"))
                .fails("does not fit a resnet18 of base width 8");

        String reason = PythonTorch.unavailableReason();
        Assumptions.assumeTrue(reason == null, reason);
        // PyTorch: strict load into torchvision's ResNet-18 rebuilt at base width 4 with the small-input stem; same embedding
        CpuBackend cpu = new CpuBackend();
        Network net = Models.build(cpu, new TrainConfig.Model("resnet18", 4, true, null, "torchvision"), 1, Head.none(), 0);
        net.loadStateDict(Safetensors.read(Path.of(backboneOnly + ".safetensors")));
        net.eval();
        float[] x = new float[3 * 28 * 28];
        java.util.Random rng = new java.util.Random(1);
        for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
        Tensor input = Tensor.cpu(x, 3, 1, 28, 28);
        float[] emb = cpu.toFloatArray(net.embed(input));
        Path io = out.resolve("io.pth");
        TorchSaveWriter.write(io, new java.util.LinkedHashMap<>(Map.of("input", input, "embedding", Tensor.cpu(emb, 3, 32))));
        String script = """
                import sys, torch, torch.nn as nn, torch.nn.functional as F
                from torchvision.models.resnet import ResNet, BasicBlock
                w = 4
                m = ResNet(BasicBlock, [2, 2, 2, 2])
                m.inplanes = w
                m.conv1 = nn.Conv2d(1, w, 3, 1, 1, bias=False)
                m.bn1 = nn.BatchNorm2d(w)
                m.maxpool = nn.Identity()
                m.layer1 = m._make_layer(BasicBlock, w, 2)
                m.layer2 = m._make_layer(BasicBlock, 2 * w, 2, stride=2)
                m.layer3 = m._make_layer(BasicBlock, 4 * w, 2, stride=2)
                m.layer4 = m._make_layer(BasicBlock, 8 * w, 2, stride=2)
                m.fc = nn.Identity()
                m.load_state_dict(torch.load(sys.argv[1]), strict=True)
                m.eval()
                io = torch.load(sys.argv[3])
                with torch.no_grad():
                    e = m(io["input"])
                print("backbone max abs diff", float((e - io["embedding"]).abs().max()))
                m.fc = nn.Linear(8 * w, 10)
                sd = torch.load(sys.argv[2])
                m.load_state_dict(sd, strict=True)
                with torch.no_grad():
                    feats = m.avgpool(m.layer4(m.layer3(m.layer2(m.layer1(m.relu(m.bn1(m.conv1(io["input"])))))))).flatten(1)
                    print("classes", m.fc(F.normalize(feats)).argmax(1).tolist())
                """;
        PythonTorch.Output py = PythonTorch.run(script, backboneOnly + ".pth", prefix + ".pth", io.toString());
        assertEquals(0, py.exitCode(), py.text());
        String line = py.text().lines().filter(l -> l.startsWith("backbone max abs diff")).findFirst().orElseThrow(() -> new AssertionError(py.text()));
        double diff = Double.parseDouble(line.substring("backbone max abs diff ".length()));
        // fp32 on both sides, different summation orders through 20 layers: 1e-4 absolute on O(1) embeddings
        assertTrue(diff <= 1e-4, "PyTorch vs engine embedding max abs diff " + diff);
        assertTrue(py.text().contains("classes ["), py.text());
    }

    @Test void exportIntoTorchvisionResnet18WithClasses() throws Exception {
        String reason = PythonTorch.unavailableReason();
        Assumptions.assumeTrue(reason == null, reason);
        // a torchvision-shaped student (base width 64, ImageNet stem, RGB) and a 10-class probe: resnet18(num_classes=10) takes it
        CpuBackend cpu = new CpuBackend();
        TrainConfig.Model spec = new TrainConfig.Model("resnet18", 64, false, null, "torchvision");
        Network net = Models.build(cpu, spec, 3, Head.none(), 5);
        Path student = dir.resolve("tv/checkpoints/student.safetensors");
        Files.createDirectories(student.getParent());
        Safetensors.write(student, net.stateDict(), new ModelCard(ModelCard.ROLE_STUDENT, "resnet18", 64, false, 3, 512, Head.none()).metadata());
        float[] w = new float[10 * 512], b = new float[10];
        java.util.Random rng = new java.util.Random(2);
        for (int i = 0; i < w.length; i++) w[i] = (float) rng.nextGaussian();
        Path probe = dir.resolve("tv/probe.safetensors");
        Safetensors.write(probe, Map.of("fc.weight", Tensor.cpu(w, 10, 512), "fc.bias", Tensor.cpu(b, 10)), Map.of("compress.role", "linear-probe"));
        cli(args("export", student, "--probe", probe, "-o", dir.resolve("tv/resnet18"))).ok();
        PythonTorch.Output py = PythonTorch.run("""
                import sys, torch, torchvision
                m = torchvision.models.resnet18(num_classes=10)
                print(m.load_state_dict(torch.load(sys.argv[1]), strict=True))
                """, dir.resolve("tv/resnet18.pth").toString());
        assertEquals(0, py.exitCode(), py.text());
        assertTrue(py.text().contains("All keys matched successfully"), py.text());
    }

    @Test void resumeAfterTheProcessIsKilledEqualsTheUninterruptedRun() throws Exception {
        Path whole = dir.resolve("whole"), killed = dir.resolve("killed");
        String[] distill = args("distill", TINY, STUDENT, "--teacher", teacher, "--epochs", "3", "--keep-last", "2");
        cli(args(distill, "--out", whole)).ok();
        // a second JVM runs the same distillation and is killed (SIGKILL) once epoch 0's checkpoint is complete
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), CompressCli.class.getName()));
        cmd.addAll(Arrays.asList(args(distill, "--out", killed)));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("killed.log").toFile()).start();
        Path marker = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
        while (marker == null && System.nanoTime() < deadline && p.isAlive()) {
            Thread.sleep(20);
            if (Files.isDirectory(killed)) {
                try (Stream<Path> s = Files.list(killed)) {
                    marker = s.map(d -> d.resolve("checkpoints/compress-epoch-0.safetensors.done")).filter(Files::exists).findFirst().orElse(null);
                }
            }
        }
        p.destroyForcibly().waitFor();
        assertTrue(marker != null, "epoch 0 completed before the kill; log: " + Files.readString(dir.resolve("killed.log")));
        // --resume auto finds the killed run (unfinished, under --out) and continues its own directory from its newest checkpoint
        Path killedRun = marker.getParent().getParent();
        cli(args(distill, "--out", killed, "--resume", "auto")).ok();
        try (Stream<Path> runs = Files.list(killed)) {
            assertEquals(List.of(killedRun), runs.filter(Files::isDirectory).toList(), "no second run directory");
        }
        Map<String, Tensor> a = Safetensors.read(runDir(whole, "-distill-2q").resolve("checkpoints/student.safetensors"));
        Map<String, Tensor> b = Safetensors.read(killedRun.resolve("checkpoints/student.safetensors"));
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) {
            if (a.get(k).dtype() == org.compress.engine.tensor.DType.F32) {
                assertArrayEquals(a.get(k).cpuStorage().f32(), b.get(k).cpuStorage().f32(), k + ": resumed = uninterrupted, bit for bit");
            }
        }
        assertEquals(steps(runDir(whole, "-distill-2q"), "compress-2q"), steps(killedRun, "compress-2q"),
                "metrics.jsonl of the resumed run: the uninterrupted run's step numbers, none repeated or missing");
        // --keep-last 2: of epochs 0, 1, 2 only the last two remain, each complete, in both runs
        for (Path run : List.of(runDir(whole, "-distill-2q"), killedRun)) {
            Path ck = run.resolve("checkpoints");
            assertTrue(!Files.exists(ck.resolve("compress-epoch-0.safetensors")) && !Files.exists(ck.resolve("compress-epoch-0.safetensors.done")),
                    run.toString());
            for (int e = 1; e <= 2; e++) assertTrue(Files.exists(ck.resolve("compress-epoch-" + e + ".safetensors.done")), run + " epoch " + e);
        }
    }

    @Test void aConfigFileSetsDefaultsFlagsWinAndPrintConfigRoundTrips() throws Exception {
        Path yaml = dir.resolve("distill.yaml");
        Files.writeString(yaml, "epochs: 5\nbatch-size: 32\ncompress_t: 0.1\nmethod: 1q\n");
        Run r = cli(args("distill", "-c", yaml, "--print-config", "--epochs", "2")).ok();
        JsonNode printed = new ObjectMapper(new com.fasterxml.jackson.dataformat.yaml.YAMLFactory()).readTree(r.out());
        assertEquals(2, printed.get("epochs").asInt(), "the flag wins over the file");
        assertEquals(32, printed.get("batch-size").asInt());
        assertEquals(0.1, printed.get("tau").asDouble(), 1e-6, "an official alias in the file sets the option");
        assertEquals("1q", printed.get("method").asText());
        assertEquals(128000, printed.get("queue").asInt(), "untouched options keep the official defaults");
        // what --print-config prints is itself a valid config file giving the same options
        Path again = dir.resolve("printed.yaml");
        Files.writeString(again, r.out());
        assertEquals(r.out(), cli(args("distill", "-c", again, "--print-config")).ok().out());

        Files.writeString(yaml, "epochz: 5\n");
        cli(args("distill", "-c", yaml, "--print-config")).fails("'epochz' is not an option of `compress distill`");
    }

    @Test void summaryCsvHasOneRowPerRun() throws Exception {
        Path out = dir.resolve("many");
        for (int i = 0; i < 2; i++) cli(args("eval", "knn", TINY, "--out", out, "--weights", teacher, "-k", "1")).ok();
        List<String> rows = Files.readAllLines(out.resolve("summary.csv"));
        assertEquals(3, rows.size(), "header + one row per run: " + rows);
        List<String> header = Arrays.asList(rows.get(0).split(","));
        int col = header.indexOf("top1.nn");
        assertTrue(col > 0, "a column per metric: " + header);
        assertEquals(rows.get(1).split(",")[col], rows.get(2).split(",")[col], "same model, same data: same NN accuracy");
    }

    @Test void missingTeacherAndUnknownMethodAreOneLineErrors() {
        cli(args("distill", TINY, "--out", dir.resolve("bad"))).fails("give the teacher (--teacher FILE) or a teacher cache");
        cli(args("distill", TINY, "--out", dir.resolve("bad"), "--teacher", teacher, "--method", "3q")).fails("expected 2q, 2q-nomomentum or 1q, found '3q'");
        cli(args("distill", TINY, "--out", dir.resolve("bad"), "--teacher", dir.resolve("none.pth"))).fails("checkpoint " + dir.resolve("none.pth") + " does not exist");
    }

    @SuppressWarnings("unchecked")
    static List<Long> steps(Path run, String stage) throws Exception {
        ObjectMapper m = new ObjectMapper();
        List<Long> out = new ArrayList<>();
        for (String l : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            Map<String, Object> r = m.readValue(l, Map.class);
            if (stage.equals(r.get("stage")) && r.get("step") != null) out.add(((Number) r.get("step")).longValue());
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    static List<Double> losses(Path run, String stage) throws Exception {
        ObjectMapper m = new ObjectMapper();
        List<Double> out = new ArrayList<>();
        for (String l : Files.readAllLines(run.resolve("metrics.jsonl"))) {
            Map<String, Object> r = m.readValue(l, Map.class);
            if (stage.equals(r.get("stage")) && r.get("loss") != null) out.add(((Number) r.get("loss")).doubleValue());
        }
        return out;
    }
}
