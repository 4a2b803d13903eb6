// The `compress train` job: teacher (from a checkpoint, or MoCo v2 pretraining), CompRess distillation into the
// student, k-NN evaluation of pixels / teacher / student, all recorded in a run directory: config.json,
// metrics.jsonl, checkpoints (safetensors, atomic, with .done markers), loss-STAGE.png plots and summary.json.
package org.compress.engine.train;

import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Map;
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

    public static Summary run(TrainConfig cfg, Path runsRoot) { return run(cfg, runsRoot, null); }

    /**
     * resumeFrom: an epoch checkpoint (checkpoints/compress-epoch-N.safetensors) of an earlier run with the same
     * configuration; the teacher then comes from that run's teacher.safetensors unless a teacher checkpoint is given.
     */
    public static Summary run(TrainConfig cfg, Path runsRoot, Path resumeFrom) {
        if (resumeFrom != null && cfg.teacher().checkpoint() == null) {
            Path teacher = resumeFrom.resolveSibling("teacher.safetensors");
            if (!RunDirectory.isComplete(teacher)) {
                throw new IllegalArgumentException("resume: " + teacher + " (the interrupted run's teacher) is missing or incomplete;"
                        + " name the teacher with --teacher-checkpoint");
            }
            TrainConfig.Model t = cfg.teacher();
            cfg = new TrainConfig(cfg.data(), new TrainConfig.Model(t.arch(), t.baseWidth(), t.smallInput(), teacher.toString(), "torchvision"),
                    cfg.student(), cfg.moco(), cfg.compress(), cfg.eval(), cfg.seed(), cfg.backend());
        }
        long start = System.nanoTime();
        Path dir = runsRoot.resolve(LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + "-compress-"
                + cfg.compress().method());
        DataSpec data = DataSpec.of(cfg.data());
        Dataset train = data.train(), test = data.test();
        int channels = data.channels();
        DistEnv env = DistEnv.fromEnvironment();   // dist: one process unless a launcher set RANK/WORLD_SIZE (or Slurm/MPI)
        try (Backend backend = Backends.select(env.backendFor(cfg.backend())); DistributedContext dist = DistributedContext.init(env, backend);
             RunDirectory run = new RunDirectory(runRoot(dist, dir, cfg), cfg)) {
            Path runDir = dist.isMaster() ? run.root() : run.root().getParent().getParent();   // dist: rank 0's run directory
            log.info("run {}: backend {}, {} training / {} test images", runDir, backend.device(), train.size(), test.size());
            Network teacher = teacher(backend, cfg, data, run, dist);
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
            try (TeacherCache cache = cfg.compress().cachedTeacher()
                    ? TeacherCache.compute(backend, teacher, train, data.evalView(), 256, cfg.data().workers()) : null) {
                CompressTrainer.train(backend, teacher, cache, student, key, train, view, cfg.compress(), cfg.data().workers(), cfg.seed(), run,
                        resumeFrom, dist);
            }
            if (dist.isMaster()) checkpoint(backend, run, "student.safetensors", student);
            Map<String, Map<Integer, Double>> knn = evaluate(backend, cfg, data, teacher, student, run, dist);
            if (dist.isMaster()) plotLosses(run);
            double seconds = (System.nanoTime() - start) / 1e9;
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("knn_top1", knn);
            summary.put("seconds", seconds);
            summary.put("backend", backend.device().toString());
            summary.put("world_size", dist.worldSize());
            if (dist.isMaster()) {
                RunDirectory.writeAtomically(runDir.resolve("summary.json"),
                        new com.fasterxml.jackson.databind.ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(summary));
            }
            dist.finish();
            return new Summary(runDir, knn, seconds);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * dist: rank 0's run directory is the run; the other ranks agree on its name and keep their own metrics in
     * ranks/rank-N inside it (no checkpoints, plots or summary). Every rank must be started with the same configuration.
     */
    private static Path runRoot(DistributedContext dist, Path dir, TrainConfig cfg) {
        if (!dist.isDistributed()) return dir;
        try {
            dist.checkSameConfiguration("the configuration", new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(cfg));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("configuration is not serialisable: " + e.getMessage(), e);
        }
        Path agreed = Path.of(dist.agree("run-directory", dir.toString()));
        return dist.isMaster() ? agreed : agreed.resolve("ranks").resolve("rank-" + dist.rank());
    }

    static Dataset openSplit(TrainConfig.Data data, String split) {
        DataSpec spec = DataSpec.of(data);
        return split.equals("train") ? spec.train() : spec.test();
    }

    private static Network teacher(Backend backend, TrainConfig cfg, DataSpec data, RunDirectory run, DistributedContext dist) {
        int channels = data.channels();
        TrainConfig.Moco moco = cfg.moco();
        if (cfg.teacher().checkpoint() != null) { // the trunk is the teacher; a checkpoint's projection head is dropped
            Network teacher = Models.build(backend, cfg.teacher(), channels, Head.none(), cfg.seed());
            Models.load(teacher, Path.of(cfg.teacher().checkpoint()), cfg.teacher().checkpointPreset());
            log.info("teacher loaded from {}", cfg.teacher().checkpoint());
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
                    cfg.data().workers(), cfg.seed(), run, dist);
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
        Path file = run.checkpointPath(name);
        Safetensors.write(file, host);
        run.markComplete(file);
        log.info("checkpoint {}", file);
    }
}
