// `compress train` refuses every bad input before any work starts and before its run directory exists: each
// option out of range, data that cannot work (a missing val/ folder, other classes than training, a batch larger
// than the data), teacher checkpoints that do not fit (one-line messages naming the file); and it accepts what the
// library can convert (FP16 / BF16 teachers). Every case runs the real command line in-process.
package org.compress.engine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.io.Safetensors;
import org.compress.engine.nn.models.Head;
import org.compress.engine.nn.models.Network;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Float16;
import org.compress.engine.tensor.BFloat16;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Fixtures;
import org.compress.engine.train.Models;
import org.compress.engine.train.TrainConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainValidationCliTest {
    @TempDir Path dir;

    /** What a `compress ...` invocation returned and printed. */
    record Result(int rc, String out, String err) {
        String all() { return out + err; }
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        var cli = CompressCli.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int rc = cli.execute(args);
        return new Result(rc, out.toString(), err.toString());
    }

    /** The small settings, made smaller: 128 training images, width-4 ResNet-18s, no MoCo, one epoch. */
    static List<String> tiny(Path out, String... overrides) {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("--train-images", "128");
        o.put("--test-images", "64");
        o.put("--teacher-width", "4");
        o.put("--student-width", "4");
        o.put("--batch-size", "32");
        o.put("--queue", "64");
        o.put("--moco-epochs", "0");
        o.put("--epochs", "1");
        o.put("--workers", "2");
        o.put("--backend", "cpu");
        o.put("--out", out.toString());
        for (int i = 0; i < overrides.length; i += 2) o.put(overrides[i], overrides[i + 1]);
        List<String> args = new ArrayList<>(List.of("train"));
        o.forEach((k, v) -> {
            args.add(k);
            args.add(v);
        });
        return args;
    }

    /** Runs train with the tiny settings plus overrides; asserts it failed fast with one line and created nothing. */
    private String refused(String... overrides) {
        Path out = dir.resolve("runs-" + System.nanoTime());
        long t0 = System.nanoTime();
        Result r = run(tiny(out, overrides).toArray(String[]::new));
        double seconds = (System.nanoTime() - t0) / 1e9;
        String what = String.join(" ", overrides);
        assertEquals(1, r.rc(), what + " must be refused: " + r.all());
        String line = r.err().strip();
        assertTrue(line.startsWith("error: ") && !line.contains("\n") && line.length() <= 320, what + ": one line of at most ~300"
                + " characters, found " + line.length() + ": " + line);
        assertFalse(Files.exists(out), what + ": nothing may be created for a refused configuration, found " + out);
        assertTrue(seconds < 20, what + ": refused before any work, took " + seconds + " s");
        return line;
    }

    @Test void everyBadOptionIsRefusedBeforeAnyWorkNamingTheOption() {
        // each with MoCo pretraining on: the refusal must come before it, not after the whole teacher stage
        String[][] cases = {
            {"--tau", "0", "--tau: expected a finite value > 0, found 0.0"},
            {"--lr", "NaN", "--lr: expected a finite value > 0, found NaN"},
            {"--lr", "Infinity", "--lr: expected a finite value > 0, found Infinity"},
            {"--method", "3q", "--method: CompRess method: expected 2q, 2q-nomomentum or 1q, found '3q'"},
            {"--lr-schedule", "step:5", "--lr-schedule: learning-rate schedule: expected cosine or multistep:E1,E2,..., found 'step:5'"},
            {"--lr-schedule", "multistep:a,b", "--lr-schedule"},
            {"--student-arch", "resnet19", "--student-arch: expected one of [alexnet, mobilenetv2, resnet18, resnet34, resnet50], found 'resnet19'"},
            {"--bank-dtype", "F64", "--bank-dtype: expected F32 or BF16, found 'F64'"},
            {"--epochs", "-1", "--epochs: expected 0 or more, found -1"},
            {"--train-images", "-5", "--train-images: expected 0 (all) or a positive count, found -5"},
            {"--batch-size", "256", "--batch-size 256 exceeds the 128 training images: an epoch would have no step"},
            {"--backend", "tpu", "--backend: expected auto, cpu, cpu-reference, cuda or cuda:N, found 'tpu'"},
        };
        for (String[] c : cases) {
            String line = refused(c[0], c[1], "--moco-epochs", "1");
            assertTrue(line.contains(c[2]), c[0] + " " + c[1] + ": " + line);
            assertFalse(line.contains("No enum constant"), line);
        }
        // several problems at once: all are named (as far as one line allows)
        String both = refused("--tau", "0", "--lr", "-1");
        assertTrue(both.contains("--tau") && both.contains("--lr"), both);
    }

    @Test void imageFoldersWithoutValOrWithOtherClassesAreRefused() throws Exception {
        Path data = dir.resolve("data");
        image(data.resolve("train/cat/a.png"));
        image(data.resolve("train/dog/a.png"));
        String noVal = refused("--dataset", "imagefolder", "--data-root", data.toString(), "--image-size", "32", "--train-images", "0",
                "--test-images", "0", "--batch-size", "2", "--queue", "2");
        assertTrue(noVal.contains(data + ": no val/ folder"), noVal);
        image(data.resolve("val/cat/a.png"));
        image(data.resolve("val/horse/a.png"));
        String classes = refused("--dataset", "imagefolder", "--data-root", data.toString(), "--image-size", "32", "--train-images", "0",
                "--test-images", "0", "--batch-size", "2", "--queue", "2");
        assertTrue(classes.contains("the evaluation classes [cat, horse] differ from the training classes [cat, dog]"), classes);
    }

    private static void image(Path file) throws Exception {
        Files.createDirectories(file.getParent());
        javax.imageio.ImageIO.write(new java.awt.image.BufferedImage(8, 8, java.awt.image.BufferedImage.TYPE_INT_RGB), "png", file.toFile());
    }

    @Test void teacherCheckpointsThatDoNotFitAreRefusedInOneLineNamingTheFile() throws Exception {
        // a width-8 teacher for a width-4 run: every one of its 100+ tensors has the wrong shape
        Path wide = write(dir.resolve("wide.safetensors"), teacherState(8), DType.F32);
        String shapes = refused("--teacher-checkpoint", wide.toString(), "--moco-epochs", "1");
        assertTrue(shapes.contains(wide + " (preset torchvision) does not match the model") && shapes.contains("with the wrong shape"), shapes);
        // a checkpoint that declares another architecture (MoCo's 'arch' is resnet18)
        String arch = refused("--teacher-checkpoint", Fixtures.path("moco_checkpoint.pth.tar").toString(), "--teacher-preset", "moco",
                "--teacher-arch", "resnet50");
        assertTrue(arch.contains("was saved for architecture 'resnet18' but is being loaded into 'resnet50'"), arch);
        // damaged bytes inside a .pth member: its CRC-32 no longer matches
        byte[] moco = Files.readAllBytes(Fixtures.path("moco_checkpoint.pth.tar"));
        moco[moco.length / 2] ^= 0x10;
        Path damaged = Files.write(dir.resolve("damaged.pth.tar"), moco);
        String crc = refused("--teacher-checkpoint", damaged.toString(), "--teacher-preset", "moco", "--teacher-width", "8");
        assertTrue(crc.contains(damaged + ": zip member") && crc.contains("is damaged: CRC-32"), crc);
        String missing = refused("--teacher-checkpoint", dir.resolve("nope.pth").toString());
        assertTrue(missing.contains("nope.pth: no such file"), missing);
    }

    @Test void aTeacherThatDoesNotFitIsOneShortLineKeepingItsPointerAndTheKeysAreListedOnce() throws Exception {
        // a width-8 MoCo teacher for a width-4 run, in a real JVM: what the terminal shows (the log is stderr too)
        Path teacher = Fixtures.path("moco_checkpoint.pth.tar");
        Path out = dir.resolve("runs-terminal");
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), CompressCli.class.getName()));
        command.addAll(tiny(out, "--teacher-checkpoint", teacher.toString(), "--teacher-preset", "moco", "--moco-epochs", "1"));
        Path err = dir.resolve("terminal.err");
        Process p = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS));
        String stderr = Files.readString(err);
        assertEquals(1, p.exitValue(), stderr);
        List<String> errors = stderr.lines().filter(l -> l.startsWith("error: ")).toList();
        assertEquals(1, errors.size(), stderr);
        String line = errors.get(0).substring("error: ".length());
        assertTrue(line.length() <= 300, line.length() + " characters: " + line);
        assertTrue(line.contains(teacher + " (preset moco) does not match the model") && line.contains("100 with the wrong shape")
                && line.endsWith("(full lists in the log)"), line);
        // every key once, in the log, and the one-line summary not repeated beyond the log's header and the error
        assertEquals(1, stderr.lines().filter(l -> l.strip().startsWith("conv1.weight: checkpoint [8, 3, 7, 7]")).count(), stderr);
        assertEquals(1, stderr.lines().filter(l -> l.strip().startsWith("layer4.1.bn2.running_var: checkpoint [64]")).count(), stderr);
        assertTrue(stderr.lines().filter(l -> l.contains("does not match the model")).count() <= 2, stderr);
        assertFalse(Files.exists(out));

        // a long path: still at most ~300 characters, the file's name, the counts and the pointer kept
        Path far = dir.resolve("a-rather-long-folder-name-".repeat(6)).resolve("teacher-of-another-width.pth.tar");
        Files.createDirectories(far.getParent());
        Files.copy(teacher, far);
        String cut = refused("--teacher-checkpoint", far.toString(), "--teacher-preset", "moco", "--moco-epochs", "1");
        assertTrue(cut.length() <= "error: ".length() + 300, cut.length() + ": " + cut);
        assertTrue(cut.contains(".../teacher-of-another-width.pth.tar (preset moco) does not match the model")
                && cut.contains("100 with the wrong shape") && cut.endsWith("(full lists in the log)"), cut);
    }

    @Test void halfPrecisionTeachersAreConvertedAndGiveTheSameResultAsTheirF32Values() throws Exception {
        Map<String, Tensor> state = teacherState(4);
        Map<String, String> accuracies = new LinkedHashMap<>();
        for (DType dtype : new DType[] {DType.F16, DType.BF16}) {
            Path half = write(dir.resolve("teacher-" + dtype + ".safetensors"), state, dtype);
            // the F32 file holds exactly the values the half-precision file can represent (widening is exact)
            Map<String, Tensor> widened = new LinkedHashMap<>();
            Safetensors.read(half).forEach((k, t) -> widened.put(k, t.dtype() == dtype ? widen(t) : t));
            Path f32 = dir.resolve("teacher-" + dtype + "-as-f32.safetensors");
            Safetensors.write(f32, widened);
            for (Path teacher : new Path[] {half, f32}) {
                Result r = run(tiny(dir.resolve("runs-half"), "--teacher-checkpoint", teacher.toString(), "--epochs", "0").toArray(String[]::new));
                assertEquals(0, r.rc(), teacher + ": " + r.all());
                String line = r.out().lines().filter(l -> l.strip().startsWith("teacher")).findFirst().orElseThrow();
                accuracies.merge(dtype.name(), line, (a, b) -> {
                    assertEquals(a, b, dtype + " teacher and its F32 values give the same k-NN accuracies");
                    return a;
                });
            }
        }
        assertEquals(2, accuracies.size());
    }

    @Test void aLegacyFormatMocoTeacherWorksAtTheCommandLineLikeItsSafetensorsTwin() {
        // a pre-1.6 torch.save MoCo checkpoint (how MoCo v2's published weights are stored) and the same trunk as safetensors
        String legacy = teacherLine(Fixtures.path("legacy_teacher.pth.tar").toString(), "moco");
        String twin = teacherLine(Fixtures.path("legacy_teacher_expected.safetensors").toString(), "torchvision");
        assertEquals(twin, legacy, "the legacy file loads to exactly the weights of its safetensors twin");
        String arch = refused("--teacher-checkpoint", Fixtures.path("legacy_teacher.pth.tar").toString(), "--teacher-preset", "moco",
                "--teacher-arch", "resnet34");
        assertTrue(arch.contains("was saved for architecture 'resnet18' but is being loaded into 'resnet34'"), arch);
    }

    /** The k-NN line of the teacher after a run with this teacher checkpoint and no CompRess epochs. */
    private String teacherLine(String checkpoint, String preset) {
        Result r = run(tiny(dir.resolve("runs-teacher"), "--teacher-checkpoint", checkpoint, "--teacher-preset", preset, "--epochs", "0")
                .toArray(String[]::new));
        assertEquals(0, r.rc(), checkpoint + ": " + r.all());
        return r.out().lines().filter(l -> l.strip().startsWith("teacher")).findFirst().orElseThrow();
    }

    static Map<String, Tensor> teacherState(int width) {
        TrainConfig.Model m = new TrainConfig.Model("resnet18", width, true, null, "torchvision");
        try (CpuBackend cpu = new CpuBackend()) {
            Network net = Models.build(cpu, m, 1, Head.none(), 5);
            return new LinkedHashMap<>(net.stateDict());
        }
    }

    /** Writes the state with floating tensors stored as {@code dtype} (rounded to nearest even). */
    static Path write(Path file, Map<String, Tensor> state, DType dtype) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        state.forEach((k, t) -> {
            if (t.dtype() != DType.F32 || dtype == DType.F32) {
                out.put(k, t);
                return;
            }
            float[] f = t.cpuStorage().f32();
            Tensor h = Tensor.cpuZeros(dtype, t.shape());
            for (int i = 0; i < f.length; i++) h.cpuStorage().u16()[i] = dtype == DType.F16 ? Float16.fromFloat(f[i]) : BFloat16.fromFloat(f[i]);
            out.put(k, h);
        });
        Safetensors.write(file, out);
        return file;
    }

    private static Tensor widen(Tensor t) {
        short[] h = t.cpuStorage().u16();
        float[] f = new float[h.length];
        for (int i = 0; i < h.length; i++) f[i] = t.dtype() == DType.F16 ? Float16.toFloat(h[i]) : BFloat16.toFloat(h[i]);
        return Tensor.cpu(f, t.shape());
    }
}
