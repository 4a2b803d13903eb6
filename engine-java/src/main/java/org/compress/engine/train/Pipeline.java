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
import org.compress.engine.dist.DistEnv;
import org.compress.engine.dist.DistributedContext;
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
        DistEnv env = DistEnv.fromEnvironment();   // dist: one process unless a launcher set RANK/WORLD_SIZE (or Slurm/MPI)
        try (Backend backend = Backends.select(env.backendFor(cfg.backend())); DistributedContext dist = DistributedContext.init(env, backend);
             RunDirectory run = openRun(dist, cfg, runsRoot, point)) {
            Path dir = runDirectory(dist, run);                          // dist: rank 0's run directory on every rank
            log.info("run {}: backend {}, {} training / {} test images", dir, backend.device(), train.size(), test.size());
            Network teacher = teacher(backend, cfg, data, run, point, stop, dist);
            CompressTrainer.Method method = CompressTrainer.Method.parse(cfg.compress().method());
            Head studentHead = method == CompressTrainer.Method.ONE_QUEUE ? Head.linear(teacher.embeddingDim()) : Head.none();
            Network student = Models.build(backend, cfg.student(), channels, studentHead, cfg.seed() + 2);
            Network key = method == CompressTrainer.Method.TWO_QUEUES ? Models.build(backend, cfg.student(), channels, studentHead, cfg.seed() + 3) : null;
            if (env.syncBatchNorm()) {                                  // dist: COMPRESS_SYNC_BN=1
                dist.syncBatchNorm(student);
                if (key != null) dist.syncBatchNorm(key);
            }
            log.info("teacher {} ({} parameters, {}-d), student {} ({} parameters, {}-d)", cfg.teacher().arch(), teacher.parameterCount(),
                    teacher.embeddingDim(), cfg.student().arch(), student.parameterCount(), student.embeddingDim());
            Recipe view = data.view();
            Path compressFrom = point.filter(p -> !p.isMoco()).map(ResumePoint::checkpoint).orElse(null);
            try (TeacherCache cache = cfg.compress().cachedTeacher()
                    ? TeacherCache.compute(backend, teacher, train, data.evalView(), 256, cfg.data().workers()) : null) {
                CompressTrainer.train(backend, teacher, cache, student, key, train, view, cfg.compress(), cfg.data().workers(), cfg.seed(), run,
                        compressFrom, stop, dist);
            }
            if (dist.isMaster()) checkpoint(backend, run, "student.safetensors", student);
            DistSteps.stop(dist, stop, null, -1, -1);                   // dist: a stop on any rank is every rank's
            stop.checkBetweenStages(run, ResumePoint.newest(dir).map(ResumePoint::checkpoint).orElse(null));
            Map<String, Map<Integer, Double>> knn = evaluate(backend, cfg, data, teacher, student, run, dist);
            if (dist.isMaster()) plotLosses(run);
            double seconds = (System.nanoTime() - start) / 1e9;
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("knn_top1", knn);
            summary.put("seconds", seconds);
            summary.put("backend", backend.device().toString());
            summary.put("world_size", dist.worldSize());
            if (dist.isMaster()) {
                RunDirectory.writeAtomically(dir.resolve("summary.json"),
                        new com.fasterxml.jackson.databind.ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(summary));
            }
            dist.finish();
            return new Summary(dir, knn, seconds);
        } catch (TrainingInterruptedException e) {
            throw namingTheRun(e);
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
        return resume(point.get().runDirectory(), point.get());
    }

    /** Continues {@code dir} from checkpoint {@code p}: config.json records the resume, metrics.jsonl keeps the records up to its step. */
    private static RunDirectory resume(Path dir, ResumePoint p) {
        long step;
        try (var f = Safetensors.open(p.checkpoint())) {
            step = f.read("sgd.steps").cpuStorage().i64()[0];
        }
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("checkpoint", p.checkpoint().toString());
        record.put("stage", p.stage());
        record.put("step", step);
        record.put("time", java.time.Instant.now().toString());
        log.info("resuming run {} from {} (step {})", dir, p.checkpoint(), step);
        return RunDirectory.resume(dir, record, r -> {
            String stage = String.valueOf(r.get("stage"));
            boolean sameStage = p.isMoco() ? stage.equals("moco") : stage.startsWith("compress");
            if (!p.isMoco() && stage.equals("moco")) return true; // the finished teacher stage
            return sameStage && r.get("step") instanceof Number s && s.longValue() <= step;
        });
    }

    /**
     * dist: the run directory of this rank. One process: open(). Several: every rank must have the same configuration and
     * resume point (both validated on every rank before this); rank 0 creates the run directory exclusively (or resumes
     * its own), the others agree on its path and keep their own metrics in RUN/ranks/rank-N (no checkpoints, plots or
     * summary); a resumed run's ranks continue their rank-N directories.
     */
    private static RunDirectory openRun(DistributedContext dist, TrainConfig cfg, Path runsRoot, Optional<ResumePoint> point) {
        if (!dist.isDistributed()) return open(cfg, runsRoot, point);
        try {
            dist.checkSameConfiguration("the configuration", new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(cfg));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("configuration is not serialisable: " + e.getMessage(), e);
        }
        dist.checkSameConfiguration("the resume checkpoint", point.map(p -> p.checkpoint().toString()).orElse("none"));
        RunDirectory mine = null;
        String root = "";
        try {
            if (dist.isMaster()) mine = open(cfg, runsRoot, point);
        } finally {
            root = dist.agree("run-directory", mine == null ? "" : mine.root().toAbsolutePath().toString());   // "": rank 0 failed, said at once
        }
        if (mine != null) return mine;
        if (root.isEmpty()) throw new IllegalStateException("rank " + dist.rank() + ": rank 0 could not create the run directory under " + runsRoot);
        Path rankDir = Path.of(root).resolve("ranks").resolve("rank-" + dist.rank());
        return point.isPresent() && java.nio.file.Files.isRegularFile(rankDir.resolve("config.json")) ? resume(rankDir, point.get())
                : new RunDirectory(rankDir, cfg);
    }

    /** dist: a stop on rank N > 0 names the run to resume (rank 0's directory), not its own RUN/ranks/rank-N. */
    private static TrainingInterruptedException namingTheRun(TrainingInterruptedException e) {
        Path own = e.runDirectory(), ranks = own == null ? null : own.getParent();
        if (ranks == null || ranks.getFileName() == null || !ranks.getFileName().toString().equals("ranks")
                || !own.getFileName().toString().startsWith("rank-")) return e;
        return new TrainingInterruptedException(e.reason(), ranks.getParent(), e.checkpoint());
    }

    /** dist: rank 0's run directory (the run), also on the other ranks, whose own directory is RUN/ranks/rank-N. */
    private static Path runDirectory(DistributedContext dist, RunDirectory run) {
        return dist.isMaster() ? run.root() : run.root().getParent().getParent();
    }

    static Dataset openSplit(TrainConfig.Data data, String split) {
        DataSpec spec = DataSpec.of(data);
        return split.equals("train") ? spec.train() : spec.test();
    }

    private static Network teacher(Backend backend, TrainConfig cfg, DataSpec data, RunDirectory run, Optional<ResumePoint> point,
                                   StopRequest stop, DistributedContext dist) {
        int channels = data.channels();
        TrainConfig.Moco moco = cfg.moco();
        boolean resumingCompress = point.isPresent() && !point.get().isMoco();
        Path pretrained = resumingCompress ? point.get().runDirectory().resolve("checkpoints").resolve("teacher.safetensors") : null; // dist: rank 0's
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
            if (dist.env().syncBatchNorm()) {                           // dist: COMPRESS_SYNC_BN=1
                dist.syncBatchNorm(teacher);
                dist.syncBatchNorm(key);
            }
            log.info("pretraining the teacher with MoCo v2 for {} epochs", moco.epochs());
            MocoPretrainer.train(backend, teacher, key, data.train(), data.mocoViews(), moco,
                    cfg.data().workers(), cfg.seed(), run, point.map(ResumePoint::checkpoint).orElse(null), stop, dist);
            if (dist.isMaster()) checkpoint(backend, run, "teacher.safetensors", teacher);
        } else {
            log.warn("the teacher is randomly initialised (no checkpoint, no pretraining epochs)");
        }
        return teacher;
    }

    private static Map<String, Map<Integer, Double>> evaluate(Backend backend, TrainConfig cfg, DataSpec data, Network teacher,
                                                              Network student, RunDirectory run, DistributedContext dist) {
        Dataset train = data.train(), test = data.test();
        Recipe plain = data.evalView();
        int workers = cfg.data().workers();
        Map<String, Map<Integer, Double>> out = new LinkedHashMap<>();
        Map<String, Embeddings.Set[]> sets = new LinkedHashMap<>();
        if (plain.channels() * plain.height() * plain.width() <= 4096) { // a pixel k-NN baseline only for small images
            sets.put("pixels", new Embeddings.Set[] {Embeddings.pixels(train, plain, 256, workers), Embeddings.pixels(test, plain, 256, workers)});
        }
        sets.put("teacher", new Embeddings.Set[] {Embeddings.of(backend, teacher, train, plain, 256, workers, dist),
                Embeddings.of(backend, teacher, test, plain, 256, workers, dist)});
        sets.put("student", new Embeddings.Set[] {Embeddings.of(backend, student, train, plain, 256, workers, dist),
                Embeddings.of(backend, student, test, plain, 256, workers, dist)});
        sets.forEach((name, pair) -> {
            KnnEvaluator knn = new KnnEvaluator(pair[0].values(), pair[0].labels(), pair[0].dim(), train.numClasses());
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
