// Checks a whole run before any work starts, in one place any command can call: every option's range, the data
// (folders, split sizes, the validation classes against the training classes), the teacher checkpoint (readable,
// its declared architecture, every key and shape), the batch against the data, and a resume checkpoint (complete,
// checksums, finite) and its fit with the configuration the run was started with. All problems are collected and
// reported at once (InvalidConfigurationException); nothing is created on disk.
package org.compress.engine.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.data.datasets.ImageFolder;
import org.compress.engine.nn.models.Head;
import org.compress.engine.nn.models.Network;
import org.compress.engine.tensor.Device;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public final class ConfigValidator {
    private static final Logger log = LoggerFactory.getLogger(ConfigValidator.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Settings a resumed run may change: they do not alter what is computed. Everything else must match. */
    static final Set<String> MAY_CHANGE_ON_RESUME = Set.of("data.workers", "backend", "moco.logEvery", "compress.logEvery",
            "compress.lossPath", "compress.checkFinite", "data.testSubset", "eval.k", "eval.temperature", "resumes");

    /** A configuration that passed every check: its data, and where it resumes (if it does). */
    public record Validated(TrainConfig config, DataSpec data, Optional<ResumePoint> resume) {}

    private ConfigValidator() {}

    /** Validates {@code cfg} with no resume. */
    public static Validated validate(TrainConfig cfg) { return validate(cfg, null, null); }

    /** resume: null, "auto", a run directory or a checkpoint (see ResumePoint); runsRoot: where "auto" looks. */
    public static Validated validate(TrainConfig cfg, String resume, Path runsRoot) { return validate(cfg, resume, runsRoot, null); }

    /** As above; "auto" considers only runs of {@code kind} (e.g. "distill-2q"; null: any). */
    public static Validated validate(TrainConfig cfg, String resume, Path runsRoot, String kind) {
        List<String> problems = new ArrayList<>();
        options(cfg, problems);
        DataSpec data = null;
        if (problems.isEmpty()) data = data(cfg, problems);
        if (problems.isEmpty() && cfg.teacher().checkpoint() != null) teacherCheckpoint(cfg, data, problems);
        Optional<ResumePoint> point = Optional.empty();
        if (problems.isEmpty() && resume != null) {
            try {
                point = ResumePoint.resolve(resume, runsRoot, kind);
            } catch (IllegalArgumentException e) {
                problems.add(e.getMessage());
            }
            point.ifPresent(p -> resumeFit(cfg, p, problems));
        }
        if (!problems.isEmpty()) {
            InvalidConfigurationException e = new InvalidConfigurationException(problems);
            // the one-line message shows most problems in full; only those it shortened or left out are logged again
            for (String p : problems) {
                if (e.getMessage().contains(p)) log.debug("configuration: {}", p);
                else log.error("configuration: {}", p);
            }
            throw e;
        }
        return new Validated(cfg, data, point);
    }

    private static void options(TrainConfig cfg, List<String> problems) {
        TrainConfig.Data d = cfg.data();
        check(problems, Set.of("fashion-mnist", "imagefolder").contains(d.dataset()), "--dataset: expected fashion-mnist or imagefolder, found '"
                + d.dataset() + "'");
        check(problems, d.trainSubset() >= 0, "--train-images: expected 0 (all) or a positive count, found " + d.trainSubset());
        check(problems, d.testSubset() >= 0, "--test-images: expected 0 (all) or a positive count, found " + d.testSubset());
        check(problems, d.workers() >= 1, "--workers: expected at least 1, found " + d.workers());
        check(problems, d.imageSize() >= 8, "--image-size: expected at least 8, found " + d.imageSize());
        for (String role : List.of("teacher", "student")) {
            TrainConfig.Model m = role.equals("teacher") ? cfg.teacher() : cfg.student();
            check(problems, Models.ARCHITECTURES.contains(m.arch()), "--" + role + "-arch: expected one of "
                    + new java.util.TreeSet<>(Models.ARCHITECTURES) + ", found '" + m.arch() + "'");
            check(problems, m.baseWidth() >= 1, "--" + role + "-width: expected at least 1, found " + m.baseWidth());
        }
        try {
            org.compress.engine.io.StateDictLoader.Preset.byName(cfg.teacher().checkpointPreset());
        } catch (RuntimeException e) {
            problems.add("--teacher-preset: " + e.getMessage());
        }
        TrainConfig.Moco m = cfg.moco();
        check(problems, m.epochs() >= 0, "MoCo epochs (train --moco-epochs, pretrain --epochs): expected 0 or more, found " + m.epochs());
        check(problems, m.batchSize() >= 1, "--batch-size (MoCo): expected at least 1, found " + m.batchSize());
        check(problems, positive(m.lr()), "MoCo learning rate: expected a finite value > 0, found " + m.lr());
        check(problems, m.queueSize() >= 1, "--queue (MoCo): expected at least 1, found " + m.queueSize());
        check(problems, positive(m.tau()), "MoCo temperature: expected a finite value > 0, found " + m.tau());
        check(problems, m.momentum() >= 0 && m.momentum() <= 1, "MoCo momentum: expected [0, 1], found " + m.momentum());
        check(problems, m.headDim() >= 1 && m.logEvery() >= 1, "MoCo head dimension and log interval must be at least 1");
        TrainConfig.Compress c = cfg.compress();
        try {
            CompressTrainer.Method.parse(c.method());
        } catch (IllegalArgumentException e) {
            problems.add("--method: " + e.getMessage());
        }
        check(problems, c.epochs() >= 0, "--epochs: expected 0 or more, found " + c.epochs());
        check(problems, c.batchSize() >= 1, "--batch-size: expected at least 1, found " + c.batchSize());
        check(problems, positive(c.lr()), "--lr: expected a finite value > 0, found " + c.lr());
        check(problems, c.queueSize() >= 1, "--queue: expected at least 1, found " + c.queueSize());
        check(problems, positive(c.tau()), "--tau: expected a finite value > 0, found " + c.tau());
        check(problems, c.momentum() >= 0 && c.momentum() <= 1, "CompRess momentum: expected [0, 1], found " + c.momentum());
        check(problems, c.bankDtype().equals("F32") || c.bankDtype().equals("BF16"), "--bank-dtype: expected F32 or BF16, found '"
                + c.bankDtype() + "'");
        check(problems, List.of("AUTO", "FUSED", "UNFUSED").contains(c.lossPath()), "loss path: expected AUTO, FUSED or UNFUSED, found '"
                + c.lossPath() + "'");
        check(problems, c.logEvery() >= 1, "CompRess log interval: expected at least 1, found " + c.logEvery());
        try {
            if (positive(c.lr())) CompressTrainer.schedule(c);
        } catch (IllegalArgumentException e) {
            problems.add("--lr-schedule: " + e.getMessage());
        }
        if (c.lrSchedule().startsWith("multistep:")) {
            for (String e : c.lrSchedule().substring("multistep:".length()).split(",")) {
                if (e.trim().matches("\\d+")) continue;
                problems.add("--lr-schedule: milestone '" + e.trim() + "' is not an epoch number");
                break;
            }
        }
        for (int k : cfg.eval().k()) check(problems, k >= 1, "k-NN k: expected at least 1, found " + k);
        check(problems, positive(cfg.eval().temperature()), "k-NN temperature: expected a finite value > 0, found " + cfg.eval().temperature());
        if (!cfg.backend().equalsIgnoreCase("auto") && !cfg.backend().trim().equalsIgnoreCase("cpu-reference")) {
            try {
                Device.parse(cfg.backend());
            } catch (RuntimeException e) {
                problems.add("--backend: expected auto, cpu, cpu-reference, cuda or cuda:N, found '" + cfg.backend() + "'");
            }
        }
    }

    private static DataSpec data(TrainConfig cfg, List<String> problems) {
        TrainConfig.Data d = cfg.data();
        Path root = Path.of(d.root());
        if (d.dataset().equals("imagefolder") && Files.isDirectory(root)) {
            if (!Files.isDirectory(root.resolve("train"))) problems.add("imagefolder " + root + ": no train/ folder");
            if (!Files.isDirectory(root.resolve("val")) && !Files.isDirectory(root.resolve("test"))) {
                problems.add("imagefolder " + root + ": no val/ folder (nor test/) with the evaluation images");
            }
            if (!problems.isEmpty()) return null;
        }
        DataSpec spec;
        try {
            spec = DataSpec.of(d);
        } catch (RuntimeException e) {
            problems.add(e.getMessage());
            return null;
        }
        if (spec.train() instanceof ImageFolder tr && spec.test() instanceof ImageFolder te && !tr.classes().equals(te.classes())) {
            problems.add("imagefolder " + root + ": the evaluation classes " + abbreviate(te.classes()) + " differ from the training classes "
                    + abbreviate(tr.classes()));
        }
        for (var e : Map.of("--train-images", new int[] {d.trainSubset(), spec.train().size()},
                "--test-images", new int[] {d.testSubset(), spec.test().size()}).entrySet()) {
            int asked = e.getValue()[0], has = e.getValue()[1];
            check(problems, asked == 0 || asked <= has, e.getKey() + " " + asked + ": the split has only " + has + " images");
        }
        int n = spec.train().size();
        check(problems, spec.test().size() > 0, "the evaluation split of " + root + " is empty");
        if (cfg.compress().epochs() > 0) {
            check(problems, cfg.compress().batchSize() <= n, "--batch-size " + cfg.compress().batchSize() + " exceeds the " + n
                    + " training images: an epoch would have no step");
        }
        if (cfg.moco().epochs() > 0 && cfg.teacher().checkpoint() == null) {
            check(problems, cfg.moco().batchSize() <= n, "MoCo batch size " + cfg.moco().batchSize() + " exceeds the " + n
                    + " training images: an epoch would have no step");
        }
        for (int k : cfg.eval().k()) check(problems, k <= n, "k-NN k=" + k + " exceeds the " + n + " training images");
        return spec;
    }

    private static void teacherCheckpoint(TrainConfig cfg, DataSpec data, List<String> problems) {
        Path file = Path.of(cfg.teacher().checkpoint());
        if (!Files.isRegularFile(file)) {
            problems.add("checkpoint " + file + ": no such file");
            return;
        }
        try (CpuBackend cpu = new CpuBackend()) {
            Network probe = Models.build(cpu, cfg.teacher(), data.channels(), Head.none(), cfg.seed());
            if (Stages.isStudentCheckpoint(file)) probe.loadStateDict(StudentExport.read(file).backbone()); // `eval` of an epoch checkpoint
            else Models.load(probe, file, cfg.teacher().checkpointPreset(), cfg.teacher().arch());
        } catch (org.compress.engine.io.CheckpointMismatchException e) { // the usual mistake: another architecture or width
            TrainConfig.Model t = cfg.teacher();
            problems.add(e.summary("checkpoint does not fit a " + t.arch() + " of base width " + t.baseWidth()
                    + (t.smallInput() ? " with the small-input stem" : "") + ": "));
        } catch (RuntimeException e) {
            problems.add("checkpoint: " + e.getMessage());
        }
    }

    private static void resumeFit(TrainConfig cfg, ResumePoint p, List<String> problems) {
        try {
            TrainerCheckpoint.readVerified(p.checkpoint());
        } catch (RuntimeException e) {
            problems.add("--resume: " + e.getMessage());
            return;
        }
        Map<String, String> was, now;
        try {
            JsonNode recorded = JSON.readTree(p.runDirectory().resolve("config.json").toFile());
            if (recorded.has("resolved")) recorded = recorded.get("resolved"); // a command's config.json: options + resolved configuration
            was = flatten(recorded);
            now = flatten(JSON.valueToTree(cfg));
        } catch (IOException e) {
            problems.add("--resume: cannot read " + p.runDirectory().resolve("config.json") + ": " + e.getMessage());
            return;
        }
        List<String> differ = new ArrayList<>();
        for (String k : new java.util.TreeSet<>(union(was.keySet(), now.keySet()))) {
            if (MAY_CHANGE_ON_RESUME.contains(k) || MAY_CHANGE_ON_RESUME.contains(k.split("\\.")[0])) continue;
            if (!java.util.Objects.equals(was.get(k), now.get(k))) {
                differ.add(k);
                log.error("--resume: {} was {} in the run, is {} now", k, was.get(k), now.get(k));
            }
        }
        if (!differ.isEmpty()) {
            problems.add("--resume " + p.runDirectory() + ": settings differ from the run's (values in the log): " + String.join(", ", differ)
                    + "; resume with the run's own options");
        }
        if (!p.isMoco() && cfg.teacher().checkpoint() == null && cfg.moco().epochs() > 0
                && !RunDirectory.isComplete(p.runDirectory().resolve("checkpoints/teacher.safetensors"))) {
            problems.add("--resume " + p.runDirectory() + ": its pretrained teacher checkpoints/teacher.safetensors is missing or incomplete");
        }
    }

    /** "a.b.c" -> value text for every leaf of a JSON tree (arrays as a whole). */
    static Map<String, String> flatten(JsonNode node) {
        Map<String, String> out = new TreeMap<>();
        flatten("", node, out);
        return out;
    }

    private static void flatten(String prefix, JsonNode node, Map<String, String> out) {
        if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                flatten(prefix.isEmpty() ? f.getKey() : prefix + "." + f.getKey(), f.getValue(), out);
            }
        } else {
            out.put(prefix, node.isTextual() ? node.textValue() : node.toString());
        }
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        Set<String> u = new java.util.HashSet<>(a);
        u.addAll(b);
        return u;
    }

    private static String abbreviate(List<String> names) {
        return names.size() <= 4 ? names.toString() : names.subList(0, 4).toString().replace("]", ", ... (" + names.size() + ")]");
    }

    private static boolean positive(double v) { return v > 0 && Double.isFinite(v); }

    private static void check(List<String> problems, boolean ok, String problem) {
        if (!ok) problems.add(problem);
    }
}
