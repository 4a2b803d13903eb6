// The stages of a CompRess job, callable one by one (the `pretrain`, `distill`, `cache-teacher` and `eval`
// commands) or composed (`train`, `demo`): each takes a StageRunner.Context (backend, run directory, data, the
// resolved configuration) and writes what it makes into the run directory.
package org.compress.engine.train;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.compress.engine.EngineException;
import org.compress.engine.backend.Backend;
import org.compress.engine.data.datasets.Dataset;
import org.compress.engine.io.CheckpointException;
import org.compress.engine.io.CheckpointMismatchException;
import org.compress.engine.io.Safetensors;
import org.compress.engine.nn.models.Head;
import org.compress.engine.nn.models.Network;
import org.compress.engine.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public final class Stages {
    private static final Logger log = LoggerFactory.getLogger(Stages.class);

    private Stages() {}

    /** The three evaluations' settings: k-NN (k = 1 is the paper's NN), the linear probe, cluster alignment. */
    public record EvalSettings(int[] k, double temperature, LinearProbe.Options linear, int clusters, int clusterIterations) {
        public static EvalSettings paper() { return new EvalSettings(new int[] {1, 20, 200}, 0.07, LinearProbe.Options.official(), 0, 30); }
    }

    /**
     * MoCo v2 pretraining of cfg.teacher() (trunk + MLP head), continuing the run's MoCo checkpoint when it resumes
     * one; writes checkpoints/teacher.safetensors and returns the query network.
     */
    public static Network pretrain(StageRunner.Context c) {
        return pretrain(c, c.cfg().teacher(), "teacher.safetensors", ModelCard.ROLE_TEACHER);
    }

    /** MoCo v2 pretraining of the network {@code spec}, saved as checkpoints/NAME with the given ModelCard role. */
    public static Network pretrain(StageRunner.Context c, TrainConfig.Model spec, String name, String role) {
        TrainConfig cfg = c.cfg();
        TrainConfig.Moco moco = cfg.moco();
        Network teacher = Models.build(c.backend(), spec, c.data().channels(), Head.mlp(moco.headDim()), cfg.seed());
        if (moco.epochs() <= 0) {
            log.warn("the teacher is randomly initialised (no checkpoint, no pretraining epochs)");
            return teacher;
        }
        Network key = Models.build(c.backend(), spec, c.data().channels(), Head.mlp(moco.headDim()), cfg.seed() + 1);
        if (c.dist().env().syncBatchNorm()) {                           // dist: COMPRESS_SYNC_BN=1
            c.dist().syncBatchNorm(teacher);
            c.dist().syncBatchNorm(key);
        }
        log.info("pretraining {} (base width {}) with MoCo v2 for {} epochs", spec.arch(), spec.baseWidth(), moco.epochs());
        MocoPretrainer.train(c.backend(), teacher, key, c.data().train(), c.data().mocoViews(), moco, cfg.data().workers(), cfg.seed(), c.run(),
                c.resumeCheckpoint("moco"), c.stop(), c.dist());
        checkpoint(c, name, teacher, role, spec);
        return teacher;
    }

    /** The teacher's trunk from cfg.teacher().checkpoint() (strict; a checkpoint's projection head is dropped). */
    public static Network loadTeacher(StageRunner.Context c) { return loadTeacher(c, c.cfg().teacher()); }

    /** The trunk of the network {@code t} from t.checkpoint(), as above. */
    static Network loadTeacher(StageRunner.Context c, TrainConfig.Model t) {
        Network teacher = Models.build(c.backend(), t, c.data().channels(), Head.none(), c.cfg().seed());
        loadChecked(teacher, Path.of(t.checkpoint()), t, "teacher");
        log.info("teacher loaded from {}", t.checkpoint());
        return teacher;
    }

    /** As StateDictLoader, with the usual mistake (a different architecture or width than the options say) in one line. */
    static void loadChecked(Network net, Path file, TrainConfig.Model spec, String role) {
        try {
            Models.load(net, file, spec.checkpointPreset(), spec.arch());
        } catch (CheckpointMismatchException e) {
            String example = !e.misshaped().isEmpty() ? "e.g. " + e.misshaped().get(0)
                    : !e.missing().isEmpty() ? "e.g. missing " + e.missing().get(0) : "e.g. unexpected " + e.unexpected().get(0);
            throw new CheckpointException(role + " checkpoint " + file + " does not fit a " + spec.arch() + " of base width "
                    + spec.baseWidth() + (spec.smallInput() ? " with the small-input stem" : "") + " (" + net.embeddingDim()
                    + "-d embedding): " + e.missing().size() + " missing, " + e.unexpected().size() + " unexpected, "
                    + e.misshaped().size() + " mis-shaped keys (" + example + "); check the " + role + "'s architecture and width", e);
        }
    }

    /** Loads a checkpoint into {@code net}'s trunk for evaluation: an epoch checkpoint's student, or any file loadChecked takes. */
    public static void loadForEval(Network net, Path file, TrainConfig.Model spec) {
        if (isStudentCheckpoint(file)) {
            net.loadStateDict(StudentExport.read(file).backbone());
            return;
        }
        ModelCard card = ModelCard.read(file);
        loadChecked(net, file, spec, card != null ? card.role() : "model");
    }

    /** Whether {@code file} is a CompRess training checkpoint of this engine (student.* keys, no ModelCard). */
    static boolean isStudentCheckpoint(Path file) {
        if (!file.toString().endsWith(".safetensors") || ModelCard.read(file) != null) return false;
        try (var f = Safetensors.open(file)) {
            return f.entries().stream().anyMatch(e -> e.name().startsWith("student."));
        }
    }

    /**
     * CompRess distillation of a fresh cfg.student() from {@code teacher} (or, when {@code cache} is given, from the
     * cached embeddings; teacher may then be null), continuing the run's CompRess checkpoint when it resumes one.
     * Writes checkpoints/student.safetensors; returns the student.
     */
    public static Network distill(StageRunner.Context c, Network teacher, TeacherCache cache) {
        return distill(c, c.cfg().compress(), teacher, cache, "student.safetensors");
    }

    /** As above with the CompRess settings {@code compress} and the student saved as checkpoints/NAME. */
    public static Network distill(StageRunner.Context c, TrainConfig.Compress compress, Network teacher, TeacherCache cache, String name) {
        TrainConfig cfg = c.cfg();
        if (teacher == null && cache == null) throw new IllegalArgumentException("distill needs a teacher network or a teacher cache");
        int teacherDim = cache != null ? cache.dim() : teacher.embeddingDim();
        if (teacher != null && cache != null && cache.dim() != teacher.embeddingDim()) {
            throw new EngineException("teacher cache holds " + cache.dim() + "-d embeddings but the teacher embeds in "
                    + teacher.embeddingDim() + "-d: the cache was made by another teacher");
        }
        CompressTrainer.Method method = CompressTrainer.Method.parse(compress.method());
        Head head = method == CompressTrainer.Method.ONE_QUEUE ? Head.linear(teacherDim) : Head.none();
        int ch = c.data().channels();
        Network student = Models.build(c.backend(), cfg.student(), ch, head, cfg.seed() + 2);
        Network key = method == CompressTrainer.Method.TWO_QUEUES ? Models.build(c.backend(), cfg.student(), ch, head, cfg.seed() + 3) : null;
        if (c.dist().env().syncBatchNorm()) {                           // dist: COMPRESS_SYNC_BN=1
            c.dist().syncBatchNorm(student);
            if (key != null) c.dist().syncBatchNorm(key);
        }
        log.info("teacher {}-d{}, student {} ({} parameters, {}-d)", teacherDim, cache != null ? " (cached)" : "",
                cfg.student().arch(), student.parameterCount(), student.embeddingDim());
        CompressTrainer.train(c.backend(), teacher, cache, student, key, c.data().train(), c.data().view(), compress,
                cfg.data().workers(), cfg.seed(), c.run(), c.resumeCheckpoint("compress"), c.stop(), c.dist());
        checkpoint(c, name, student, ModelCard.ROLE_STUDENT, cfg.student());
        return student;
    }

    /** k-NN top-1 per representation and k (pixels where images are small), logged to metrics.jsonl. */
    public static Map<String, Map<Integer, Double>> knn(StageRunner.Context c, Map<String, Network> nets) {
        DataSpec data = c.data();
        Dataset train = data.train(), test = data.test();
        int workers = c.cfg().data().workers();
        var plain = data.evalView();
        Map<String, Map<Integer, Double>> out = new LinkedHashMap<>();
        Map<String, Embeddings.Set[]> sets = new LinkedHashMap<>();
        if (plain.channels() * plain.height() * plain.width() <= 4096) { // a pixel k-NN baseline only for small images
            sets.put("pixels", new Embeddings.Set[] {Embeddings.pixels(train, plain, 256, workers), Embeddings.pixels(test, plain, 256, workers)});
        }
        nets.forEach((name, net) -> sets.put(name, new Embeddings.Set[] {Embeddings.of(c.backend(), net, train, plain, 256, workers, c.dist()),
                Embeddings.of(c.backend(), net, test, plain, 256, workers, c.dist())}));
        sets.forEach((name, pair) -> {
            KnnEvaluator knn = new KnnEvaluator(pair[0].values(), pair[0].labels(), pair[0].dim(), train.numClasses(), c.backend());
            Map<Integer, Double> acc = new LinkedHashMap<>();
            for (int k : c.cfg().eval().k()) {
                double a = knn.accuracy(pair[1].values(), pair[1].labels(), k, c.cfg().eval().temperature());
                acc.put(k, a);
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("stage", "eval");
                r.put("representation", name);
                r.put("k", k);
                r.put("top1", a);
                c.run().log(r);
                log.info("k-NN (k={}) top-1 on {} test images, {}: {}%", k, test.size(), name, String.format(Locale.ROOT, "%.2f", 100 * a));
            }
            out.put(name, acc);
        });
        return out;
    }

    /** Train and test embeddings of {@code net} on the centre-crop (evaluation) view. */
    public static Embeddings.Set[] embed(StageRunner.Context c, Network net) {
        int workers = c.cfg().data().workers();
        return new Embeddings.Set[] {Embeddings.of(c.backend(), net, c.data().train(), c.data().evalView(), 256, workers, c.dist()),
                Embeddings.of(c.backend(), net, c.data().test(), c.data().evalView(), 256, workers, c.dist())};
    }

    /**
     * The paper's evaluations of one representation, by name: "knn" (top-1 for every k; k = 1 is NN), "linear",
     * "clusters". Returns metric name -> test top-1 ("nn", "knn20", ..., "linear", "clusters"), each also logged.
     */
    public static Map<String, Double> evaluate(StageRunner.Context c, String name, Embeddings.Set[] sets, java.util.Set<String> which,
                                               EvalSettings s) {
        int classes = c.data().train().numClasses();
        Map<String, Double> out = new LinkedHashMap<>();
        if (which.contains("knn")) {
            KnnEvaluator knn = new KnnEvaluator(sets[0].values(), sets[0].labels(), sets[0].dim(), classes, c.backend());
            int[] ks = java.util.Arrays.stream(s.k()).filter(k -> k <= sets[0].labels().length).toArray();
            double[] acc = knn.accuracies(sets[1].values(), sets[1].labels(), ks, s.temperature());
            for (int i = 0; i < ks.length; i++) out.put(ks[i] == 1 ? "nn" : "knn" + ks[i], acc[i]);
        }
        if (which.contains("linear")) {
            LinearProbe.Result r = LinearProbe.run(sets[0], sets[1], classes, s.linear().withSeed(c.cfg().seed()));
            out.put("linear", r.testAccuracy());
            c.lastProbe(r.classifier());
        }
        if (which.contains("clusters")) {
            int k = s.clusters() > 0 ? s.clusters() : classes;
            out.put("clusters", ClusterAlignment.run(sets[0], sets[1], classes, k, s.clusterIterations(), c.cfg().seed()).testAccuracy());
        }
        out.forEach((metric, a) -> {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("stage", "eval");
            r.put("representation", name);
            r.put("metric", metric);
            r.put("top1", a);
            c.run().log(r);
            log.info("{} {} top-1 on {} test images: {}%", name, metric, sets[1].labels().length, String.format(Locale.ROOT, "%.2f", 100 * a));
        });
        return out;
    }

    /** loss-STAGE.png for each training stage (MoCo and CompRess losses live on different scales). */
    static void plotLosses(RunDirectory run) {
        Map<String, java.util.List<Map<String, Object>>> byStage = new LinkedHashMap<>();
        for (Map<String, Object> r : run.history()) {
            if (r.get("loss") != null) byStage.computeIfAbsent(String.valueOf(r.get("stage")), k -> new java.util.ArrayList<>()).add(r);
        }
        byStage.forEach((stage, records) ->
                Plots.line(run.root().resolve("loss-" + stage + ".png"), stage + " training loss", records, "step", "loss"));
    }

    /**
     * The network's state dict as safetensors with its ModelCard, written atomically, then marked complete; a state
     * with a non-finite tensor is refused (TrainingDivergedException) and nothing is written.
     */
    static Path checkpoint(StageRunner.Context c, String name, Network net, String role, TrainConfig.Model spec) {
        Backend backend = c.backend();
        Map<String, Tensor> host = new LinkedHashMap<>();
        net.stateDict().forEach((k, t) -> host.put(k, t.device().isCuda() ? backend.download(t) : t));
        java.util.List<String> bad = NonFiniteGuard.nonFinite(host);
        if (!bad.isEmpty()) { // never written as a complete checkpoint; the last good one is named
            throw new TrainingDivergedException(name, -1, -1, "non-finite values", bad,
                    ResumePoint.newest(c.run().root()).map(ResumePoint::checkpoint).orElse(null));
        }
        if (!c.dist().isMaster()) return c.runDirectory().resolve("checkpoints").resolve(name);   // dist: rank 0 writes
        Path file = c.run().checkpointPath(name);
        Head head = net.hasHead() ? headOf(net) : Head.none();
        ModelCard card = new ModelCard(role, spec.arch(), spec.baseWidth(), spec.smallInput(), c.data().channels(), net.embeddingDim(), head);
        Safetensors.write(file, host, card.metadata());
        c.run().markComplete(file);
        log.info("checkpoint {}", file);
        return file;
    }

    /** MoCo's MLP head (fc.0, fc.2) or a linear one (fc): what the checkpoint's ModelCard records. */
    private static Head headOf(Network net) {
        return net.stateDict().containsKey("fc.2.weight") ? Head.mlp(net.outputDim()) : Head.linear(net.outputDim());
    }
}
