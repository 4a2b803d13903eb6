// The one way a command runs: it hands a resolved configuration and a stage to run(), which validates the whole
// configuration before any work (ConfigValidator: options, data, teacher file, resume checkpoint and its fit; nothing
// is created on disk for a bad one), then opens the backend and the run directory (a new one created exclusively,
// or the resumed run's own, see ResumePoint), runs the stage with the resume point and the stop request (SIGINT /
// SIGTERM) in its Context, then writes the loss plots, summary.json and the runs folder's summary.csv. Under a
// launcher (torchrun / Slurm / mpirun variables, or `compress launch`) it also joins the ranks (DistributedContext):
// rank 0 owns the run directory, the others keep their metrics in RUN/ranks/rank-N.
package org.compress.engine.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.compress.engine.EngineException;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.Backends;
import org.compress.engine.backend.cuda.DeviceOutOfMemoryException;
import org.compress.engine.dist.DistEnv;
import org.compress.engine.dist.DistributedContext;
import org.compress.engine.io.Safetensors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public final class StageRunner {
    private static final Logger log = LoggerFactory.getLogger(StageRunner.class);

    /**
     * Where runs go, how many training checkpoints per stage a run keeps (0 = all), the progress display, what to
     * resume (null, "auto", a run directory or a checkpoint) and the stop request the trainers poll.
     */
    public record Options(Path runsRoot, int keepLast, Progress.Mode progress, String resume, StopRequest stop) {
        public Options(Path runsRoot, int keepLast, Progress.Mode progress) { this(runsRoot, keepLast, progress, null, new StopRequest()); }

        public static Options in(Path runsRoot) { return new Options(runsRoot, 0, Progress.Mode.AUTO); }

        public Options resuming(String resumeArg, StopRequest stopRequest) {
            return new Options(runsRoot, keepLast, progress, resumeArg, stopRequest);
        }
    }

    /** What a stage works with; summary() collects what goes into summary.json. */
    public static final class Context {
        private final Backend backend;
        private final DistributedContext dist;
        private final RunDirectory run;
        private final Path runDirectory;
        private final DataSpec data;
        private final TrainConfig cfg;
        private final Optional<ResumePoint> resume;
        private final StopRequest stop;
        private final Map<String, Object> summary = new LinkedHashMap<>();
        private LinearProbe.Classifier lastProbe;

        Context(Backend backend, DistributedContext dist, RunDirectory run, Path runDirectory, DataSpec data, TrainConfig cfg,
                Optional<ResumePoint> resume, StopRequest stop) {
            this.backend = backend;
            this.dist = dist;
            this.run = run;
            this.runDirectory = runDirectory;
            this.data = data;
            this.cfg = cfg;
            this.resume = resume;
            this.stop = stop;
        }

        public Backend backend() { return backend; }

        /** This rank's run directory (on ranks > 0: RUN/ranks/rank-N, metrics only). */
        public RunDirectory run() { return run; }

        /** The run's directory, rank 0's, on every rank: where the checkpoints are. */
        public Path runDirectory() { return runDirectory; }

        /** The ranks of a data-parallel run; a no-op context for one process. */
        public DistributedContext dist() { return dist; }

        public DataSpec data() { return data; }

        public TrainConfig cfg() { return cfg; }

        public Map<String, Object> summary() { return summary; }

        /** Polled by the trainers after every step (SIGINT / SIGTERM set it). */
        public StopRequest stop() { return stop; }

        /** The checkpoint {@code stage} ("moco" or "compress") continues from, or null when it starts afresh. */
        public Path resumeCheckpoint(String stage) {
            return resume.filter(p -> p.stage().equals(stage)).map(ResumePoint::checkpoint).orElse(null);
        }

        /** Whether this run resumes at a CompRess checkpoint (so the run's MoCo stage, if it had one, is finished). */
        public boolean resumesDistillation() { return resume.isPresent() && !resume.get().isMoco(); }

        /** The classifier of the last linear probe evaluated in this run (for export), or null. */
        public LinearProbe.Classifier lastProbe() { return lastProbe; }

        void lastProbe(LinearProbe.Classifier c) { lastProbe = c; }
    }

    public interface Stage<T> {
        T run(Context c) throws IOException;
    }

    public record Outcome<T>(Path runDirectory, T value, Map<String, Object> summary, double seconds) {}

    private StageRunner() {}

    /**
     * Runs {@code stage} as a run named {@code kind}; resolvedConfig is what config.json records (the command's
     * options). Nothing is created before ConfigValidator accepted cfg and options.resume().
     */
    public static <T> Outcome<T> run(String kind, TrainConfig cfg, Object resolvedConfig, Options options, Stage<T> stage) {
        return run(kind, cfg, resolvedConfig, options, data -> { }, stage);
    }

    /** Checks of a command's own inputs against the validated data (e.g. a teacher cache's listing); throws to refuse. */
    public interface Check {
        void run(DataSpec data);
    }

    /** As above, with {@code check} run after ConfigValidator and still before anything is created. */
    public static <T> Outcome<T> run(String kind, TrainConfig cfg, Object resolvedConfig, Options options, Check check, Stage<T> stage) {
        long start = System.nanoTime();
        if (options.keepLast() < 0) {
            throw new InvalidConfigurationException(List.of("--keep-last: expected 0 (all) or more, found " + options.keepLast()));
        }
        ConfigValidator.Validated valid = ConfigValidator.validate(cfg, options.resume(), options.runsRoot(), kind);
        Optional<ResumePoint> point = valid.resume();
        if (options.resume() != null && point.isEmpty()) {
            log.info("--resume {}: nothing to resume under {}; starting a new run", options.resume(), options.runsRoot());
        }
        DataSpec data = valid.data();
        check.run(data);
        DistEnv env = DistEnv.fromEnvironment();   // one process unless a launcher set RANK/WORLD_SIZE (or Slurm/MPI)
        try (Backend backend = Backends.select(env.backendFor(cfg.backend())); DistributedContext dist = DistributedContext.init(env, backend);
             RunDirectory run = openRun(dist, kind, resolvedConfig, options.runsRoot(), point)) {
            Path dir = dist.isMaster() ? run.root() : run.root().getParent().getParent();   // rank 0's run directory on every rank
            run.keepLast(options.keepLast());
            run.progress(dist.isMaster() ? options.progress() : Progress.Mode.OFF);
            log.info("run {}: backend {}, {} training / {} test images{}", dir, backend.device(), data.train().size(), data.test().size(),
                    dist.isDistributed() ? ", rank " + dist.rank() + " of " + dist.worldSize() : "");
            Context c = new Context(backend, dist, run, dir, data, cfg, point, options.stop());
            T value;
            try {
                value = stage.run(c);
            } catch (DeviceOutOfMemoryException e) {
                int b = Math.max(cfg.compress().batchSize(), cfg.moco().batchSize());
                throw new EngineException(e.getMessage() + "; try a smaller batch, e.g. --batch-size " + Math.max(1, b / 2), e);
            } catch (TrainingInterruptedException e) {
                throw namingTheRun(e);
            } finally {
                if (dist.isMaster()) Stages.plotLosses(run);       // an interrupted or diverged run keeps plots of what it did
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("kind", kind);
            summary.putAll(c.summary());
            summary.put("seconds", seconds);
            summary.put("backend", backend.device().toString());
            summary.put("world_size", dist.worldSize());
            if (dist.isMaster()) {
                RunDirectory.writeAtomically(dir.resolve("summary.json"), new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(summary));
                RunsSummary.update(options.runsRoot());
            }
            dist.finish();
            return new Outcome<>(dir, value, summary, seconds);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A new run directory runsRoot/yyyyMMdd-HHmmss-kind (created exclusively), or the resumed run's own directory,
     * whose metrics.jsonl keeps the records up to the checkpoint's step so step numbers and plots continue.
     */
    private static RunDirectory open(String kind, Object resolvedConfig, Path runsRoot, Optional<ResumePoint> point) {
        if (point.isEmpty()) {
            return RunDirectory.create(runsRoot, LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + "-" + kind,
                    resolvedConfig);
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
            if (!p.isMoco() && stage.equals("moco")) return true; // the finished teacher stage
            boolean sameStage = p.isMoco() ? stage.equals("moco") : stage.startsWith("compress");
            return sameStage && r.get("step") instanceof Number s && s.longValue() <= step;
        });
    }

    /**
     * This rank's run directory. One process: open(). Several: every rank must have the same configuration and resume
     * point (both validated on every rank before this); rank 0 creates the run directory exclusively (or resumes its
     * own), the others agree on its path and keep their own metrics in RUN/ranks/rank-N (no checkpoints, plots or
     * summary); a resumed run's ranks continue their rank-N directories.
     */
    private static RunDirectory openRun(DistributedContext dist, String kind, Object resolvedConfig, Path runsRoot, Optional<ResumePoint> point) {
        if (!dist.isDistributed()) return open(kind, resolvedConfig, runsRoot, point);
        try {
            dist.checkSameConfiguration("the configuration", new ObjectMapper().writeValueAsString(resolvedConfig));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("configuration is not serialisable: " + e.getMessage(), e);
        }
        dist.checkSameConfiguration("the resume checkpoint", point.map(p -> p.checkpoint().toString()).orElse("none"));
        RunDirectory mine = null;
        String root = "";
        try {
            if (dist.isMaster()) mine = open(kind, resolvedConfig, runsRoot, point);
        } finally {
            root = dist.agree("run-directory", mine == null ? "" : mine.root().toAbsolutePath().toString());   // "": rank 0 failed, said at once
        }
        if (mine != null) return mine;
        if (root.isEmpty()) throw new IllegalStateException("rank " + dist.rank() + ": rank 0 could not create the run directory under " + runsRoot);
        Path rankDir = Path.of(root).resolve("ranks").resolve("rank-" + dist.rank());
        return point.isPresent() && Files.isRegularFile(rankDir.resolve("config.json")) ? resume(rankDir, point.get())
                : new RunDirectory(rankDir, resolvedConfig);
    }

    /** A stop on rank N > 0 names the run to resume (rank 0's directory), not its own RUN/ranks/rank-N. */
    private static TrainingInterruptedException namingTheRun(TrainingInterruptedException e) {
        Path own = e.runDirectory(), ranks = own == null ? null : own.getParent();
        if (ranks == null || ranks.getFileName() == null || !ranks.getFileName().toString().equals("ranks")
                || !own.getFileName().toString().startsWith("rank-")) return e;
        return new TrainingInterruptedException(e.reason(), ranks.getParent(), e.checkpoint());
    }

    /**
     * Creates runsRoot/yyyyMMdd-HHmmss-kind exclusively, with -2, -3, ... when another process took the name in the
     * same second (a folder of several runs, as the demo's).
     */
    static Path freshDirectory(Path runsRoot, String kind) {
        String base = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + "-" + kind;
        try {
            Files.createDirectories(runsRoot);
            for (int i = 1; ; i++) {
                Path dir = runsRoot.resolve(i == 1 ? base : base + "-" + i);
                try {
                    return Files.createDirectory(dir);
                } catch (java.nio.file.FileAlreadyExistsException taken) {
                    if (i == 1000) throw new UncheckedIOException("cannot create a folder " + runsRoot.resolve(base) + "-N", taken);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a folder under " + runsRoot + ": " + e.getMessage(), e);
        }
    }
}
