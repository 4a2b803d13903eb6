// The one way a command runs: it hands a resolved configuration and a stage to run(), which checks the data
// before any work, opens the backend and a fresh run directory (config.json, metrics.jsonl, checkpoints), runs the
// stage, then writes the loss plots, summary.json and the runs folder's summary.csv. Validation, resume and
// signal handling of runs belong here too, so every command gets them in one place.
package org.compress.engine.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.Map;
import org.compress.engine.EngineException;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.Backends;
import org.compress.engine.backend.cuda.DeviceOutOfMemoryException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public final class StageRunner {
    private static final Logger log = LoggerFactory.getLogger(StageRunner.class);

    /** Where runs go, how many epoch checkpoints a run keeps (0 = all), and the progress display. */
    public record Options(Path runsRoot, int keepLast, Progress.Mode progress) {
        public static Options in(Path runsRoot) { return new Options(runsRoot, 0, Progress.Mode.AUTO); }
    }

    /** What a stage works with; summary() collects what goes into summary.json. */
    public static final class Context {
        private final Backend backend;
        private final RunDirectory run;
        private final DataSpec data;
        private final TrainConfig cfg;
        private final Map<String, Object> summary = new LinkedHashMap<>();
        private LinearProbe.Classifier lastProbe;

        Context(Backend backend, RunDirectory run, DataSpec data, TrainConfig cfg) {
            this.backend = backend;
            this.run = run;
            this.data = data;
            this.cfg = cfg;
        }

        public Backend backend() { return backend; }

        public RunDirectory run() { return run; }

        public DataSpec data() { return data; }

        public TrainConfig cfg() { return cfg; }

        public Map<String, Object> summary() { return summary; }

        /** The classifier of the last linear probe evaluated in this run (for export), or null. */
        public LinearProbe.Classifier lastProbe() { return lastProbe; }

        void lastProbe(LinearProbe.Classifier c) { lastProbe = c; }
    }

    public interface Stage<T> {
        T run(Context c) throws IOException;
    }

    public record Outcome<T>(Path runDirectory, T value, Map<String, Object> summary, double seconds) {}

    private StageRunner() {}

    /** Runs {@code stage} as a run named {@code kind}; resolvedConfig is what config.json records (the command's options). */
    public static <T> Outcome<T> run(String kind, TrainConfig cfg, Object resolvedConfig, Options options, Stage<T> stage) {
        long start = System.nanoTime();
        DataSpec data = DataSpec.of(cfg.data());           // a missing data folder fails before any work
        Path dir = freshDirectory(options.runsRoot(), kind);
        try (Backend backend = Backends.select(cfg.backend()); RunDirectory run = new RunDirectory(dir, resolvedConfig)) {
            run.keepLast(options.keepLast());
            run.progress(options.progress());
            log.info("run {}: backend {}, {} training / {} test images", dir, backend.device(), data.train().size(), data.test().size());
            Context c = new Context(backend, run, data, cfg);
            T value;
            try {
                value = stage.run(c);
            } catch (DeviceOutOfMemoryException e) {
                int b = Math.max(cfg.compress().batchSize(), cfg.moco().batchSize());
                throw new EngineException(e.getMessage() + "; try a smaller batch, e.g. --batch-size " + Math.max(1, b / 2), e);
            }
            Stages.plotLosses(run);
            double seconds = (System.nanoTime() - start) / 1e9;
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("kind", kind);
            summary.putAll(c.summary());
            summary.put("seconds", seconds);
            summary.put("backend", backend.device().toString());
            RunDirectory.writeAtomically(dir.resolve("summary.json"), new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(summary));
            RunsSummary.update(options.runsRoot());
            return new Outcome<>(dir, value, summary, seconds);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** runsRoot/yyyyMMdd-HHmmss-kind, with -2, -3, ... when a run of the same kind started in the same second. */
    static Path freshDirectory(Path runsRoot, String kind) {
        String base = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + "-" + kind;
        Path dir = runsRoot.resolve(base);
        for (int i = 2; Files.exists(dir); i++) dir = runsRoot.resolve(base + "-" + i);
        return dir;
    }
}
