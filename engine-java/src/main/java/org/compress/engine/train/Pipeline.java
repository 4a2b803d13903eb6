// The `compress train` job: teacher (from a checkpoint, or MoCo v2 pretraining), CompRess distillation into the
// student, k-NN evaluation of pixels / teacher / student, all recorded in a run directory: config.json,
// metrics.jsonl, checkpoints (safetensors, atomic, with .done markers), loss-STAGE.png plots and summary.json.
// The configuration is validated as a whole before anything starts; a resumed run continues its own directory.
package org.compress.engine.train;

import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.Backends;
import org.compress.engine.data.datasets.Dataset;
import org.compress.engine.data.transforms.Recipe;
import org.compress.engine.io.Safetensors;
import org.compress.engine.nn.models.Head;
import org.compress.engine.nn.models.Network;
import org.compress.engine.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public final class Pipeline {
    private static final Logger log = LoggerFactory.getLogger(Pipeline.class);

    /** k-NN accuracies per representation ("pixels", "teacher", "student") and k. */
    public record Summary(Path runDirectory, Map<String, Map<Integer, Double>> knn, double seconds) {}

    private Pipeline() {}

    public static Summary run(TrainConfig cfg, Path runsRoot) { return run(cfg, runsRoot, (String) null, new StopRequest()); }

    /** resumeFrom: a checkpoint or run directory of an earlier run with the same configuration (see ResumePoint). */
    public static Summary run(TrainConfig cfg, Path runsRoot, Path resumeFrom) {
        return run(cfg, runsRoot, resumeFrom == null ? null : resumeFrom.toString(), new StopRequest());
    }

    /**
     * Validates everything first (ConfigValidator: nothing is created for a bad configuration), then runs in a new
     * run directory, or continues the resumed run's own directory. resume: null, "auto", a run directory or a
     * checkpoint; stop: polled after every training step (TrainingInterruptedException after a checkpoint).
     */
    public static Summary run(TrainConfig cfg, Path runsRoot, String resume, StopRequest stop) {
        ConfigValidator.Validated valid = ConfigValidator.validate(cfg, resume, runsRoot);
        Optional<ResumePoint> point = valid.resume();
        if (resume != null && point.isEmpty()) log.info("--resume {}: nothing to resume under {}; starting a new run", resume, runsRoot);
        long start = System.nanoTime();
        DataSpec data = valid.data();
        Dataset train = data.train(), test = data.test();
        int channels = data.channels();
        try (Backend backend = Backends.select(cfg.backend()); RunDirectory run = open(cfg, runsRoot, point)) {
            Path dir = run.root();
            log.info("run {}: backend {}, {} training / {} test images", dir, backend.device(), train.size(), test.size());
            Network teacher = teacher(backend, cfg, data, run, point, stop);
            CompressTrainer.Method method = CompressTrainer.Method.parse(cfg.compress().method());
            Head studentHead = method == CompressTrainer.Method.ONE_QUEUE ? Head.linear(teacher.embeddingDim()) : Head.none();
            Network student = Models.build(backend, cfg.student(), channels, studentHead, cfg.seed() + 2);
            Network key = method == CompressTrainer.Method.TWO_QUEUES ? Models.build(backend, cfg.student(), channels, studentHead, cfg.seed() + 3) : null;
            log.info("teacher {} ({} parameters, {}-d), student {} ({} parameters, {}-d)", cfg.teacher().arch(), teacher.parameterCount(),
                    teacher.embeddingDim(), cfg.student().arch(), student.parameterCount(), student.embeddingDim());
            Recipe view = data.view();
            Path compressFrom = point.filter(p -> !p.isMoco()).map(ResumePoint::checkpoint).orElse(null);
            try (TeacherCache cache = cfg.compress().cachedTeacher()
                    ? TeacherCache.compute(backend, teacher, train, data.evalView(), 256, cfg.data().workers()) : null) {
                CompressTrainer.train(backend, teacher, cache, student, key, train, view, cfg.compress(), cfg.data().workers(), cfg.seed(), run,
                        compressFrom, stop);
            }
            checkpoint(backend, run, "student.safetensors", student);
            stop.checkBetweenStages(run, ResumePoint.newest(dir).map(ResumePoint::checkpoint).orElse(null));
            Map<String, Map<Integer, Double>> knn = evaluate(backend, cfg, data, teacher, student, run);
            plotLosses(run);
            double seconds = (System.nanoTime() - start) / 1e9;
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("knn_top1", knn);
            summary.put("seconds", seconds);
            summary.put("backend", backend.device().toString());
            RunDirectory.writeAtomically(dir.resolve("summary.json"),
                    new com.fasterxml.jackson.databind.ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(summary));
            return new Summary(dir, knn, seconds);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** A new run directory, or the resumed run's, keeping its metrics up to the checkpoint's step. */
    private static RunDirectory open(TrainConfig cfg, Path runsRoot, Optional<ResumePoint> point) {
        if (point.isEmpty()) {
            return RunDirectory.create(runsRoot, LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + "-compress-"
                    + cfg.compress().method(), cfg);
        }
        ResumePoint p = point.get();
        long step;
        try (var f = Safetensors.open(p.checkpoint())) {
            step = f.read("sgd.steps").cpuStorage().i64()[0];
        }
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("checkpoint", p.checkpoint().toString());
        record.put("stage", p.stage());
        record.put("step", step);
        record.put("time", java.time.Instant.now().toString());
        log.info("resuming run {} from {} (step {})", p.runDirectory(), p.checkpoint(), step);
        return RunDirectory.resume(p.runDirectory(), record, r -> {
            String stage = String.valueOf(r.get("stage"));
            boolean sameStage = p.isMoco() ? stage.equals("moco") : stage.startsWith("compress");
            if (!p.isMoco() && stage.equals("moco")) return true; // the finished teacher stage
            return sameStage && r.get("step") instanceof Number s && s.longValue() <= step;
        });
    }

    static Dataset openSplit(TrainConfig.Data data, String split) {
        DataSpec spec = DataSpec.of(data);
        return split.equals("train") ? spec.train() : spec.test();
    }

    private static Network teacher(Backend backend, TrainConfig cfg, DataSpec data, RunDirectory run, Optional<ResumePoint> point,
                                   StopRequest stop) {
        int channels = data.channels();
        TrainConfig.Moco moco = cfg.moco();
        Path pretrained = run.checkpointPath("teacher.safetensors");
        boolean resumingCompress = point.isPresent() && !point.get().isMoco();
        if (cfg.teacher().checkpoint() != null || (resumingCompress && moco.epochs() > 0)) {
            // the trunk is the teacher; a checkpoint's projection head is dropped
            Path file = cfg.teacher().checkpoint() != null ? Path.of(cfg.teacher().checkpoint()) : pretrained;
            String preset = cfg.teacher().checkpoint() != null ? cfg.teacher().checkpointPreset() : "torchvision";
            Network teacher = Models.build(backend, cfg.teacher(), channels, Head.none(), cfg.seed());
            Models.load(teacher, file, preset, cfg.teacher().arch());
            log.info("teacher loaded from {}", file);
            return teacher;
        }
        Network teacher = Models.build(backend, cfg.teacher(), channels, Head.mlp(moco.headDim()), cfg.seed());
        if (moco.epochs() > 0) {
            Network key = Models.build(backend, cfg.teacher(), channels, Head.mlp(moco.headDim()), cfg.seed() + 1);
            log.info("pretraining the teacher with MoCo v2 for {} epochs", moco.epochs());
            MocoPretrainer.train(backend, teacher, key, data.train(), data.mocoViews(), moco,
                    cfg.data().workers(), cfg.seed(), run, point.map(ResumePoint::checkpoint).orElse(null), stop);
            checkpoint(backend, run, "teacher.safetensors", teacher);
        } else {
            log.warn("the teacher is randomly initialised (no checkpoint, no pretraining epochs)");
        }
        return teacher;
    }

    private static Map<String, Map<Integer, Double>> evaluate(Backend backend, TrainConfig cfg, DataSpec data, Network teacher,
                                                              Network student, RunDirectory run) {
        Dataset train = data.train(), test = data.test();
        Recipe plain = data.evalView();
        int workers = cfg.data().workers();
        Map<String, Map<Integer, Double>> out = new LinkedHashMap<>();
        Map<String, Embeddings.Set[]> sets = new LinkedHashMap<>();
        if (plain.channels() * plain.height() * plain.width() <= 4096) { // a pixel k-NN baseline only for small images
            sets.put("pixels", new Embeddings.Set[] {Embeddings.pixels(train, plain, 256, workers), Embeddings.pixels(test, plain, 256, workers)});
        }
        sets.put("teacher", new Embeddings.Set[] {Embeddings.of(backend, teacher, train, plain, 256, workers),
                Embeddings.of(backend, teacher, test, plain, 256, workers)});
        sets.put("student", new Embeddings.Set[] {Embeddings.of(backend, student, train, plain, 256, workers),
                Embeddings.of(backend, student, test, plain, 256, workers)});
        sets.forEach((name, pair) -> {
            KnnEvaluator knn = new KnnEvaluator(pair[0].values(), pair[0].labels(), pair[0].dim(), train.numClasses(), backend);
            Map<Integer, Double> acc = new LinkedHashMap<>();
            for (int k : cfg.eval().k()) {
                double a = knn.accuracy(pair[1].values(), pair[1].labels(), k, cfg.eval().temperature());
                acc.put(k, a);
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("stage", "eval");
                r.put("representation", name);
                r.put("k", k);
                r.put("top1", a);
                run.log(r);
                log.info("k-NN (k={}) top-1 on {} test images, {}: {}%", k, test.size(), name, String.format(java.util.Locale.ROOT, "%.2f", 100 * a));
            }
            out.put(name, acc);
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

    /** The network's state dict as safetensors, written atomically, then marked complete. */
    static void checkpoint(Backend backend, RunDirectory run, String name, Network net) {
        Map<String, Tensor> host = new LinkedHashMap<>();
        net.stateDict().forEach((k, t) -> host.put(k, t.device().isCuda() ? backend.download(t) : t));
        java.util.List<String> bad = NonFiniteGuard.nonFinite(host);
        if (!bad.isEmpty()) {
            throw new TrainingDivergedException(name, -1, -1, "non-finite values", bad,
                    ResumePoint.newest(run.root()).map(ResumePoint::checkpoint).orElse(null));
        }
        Path file = run.checkpointPath(name);
        Safetensors.write(file, host);
        run.markComplete(file);
        log.info("checkpoint {}", file);
    }
}
