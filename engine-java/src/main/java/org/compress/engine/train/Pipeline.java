// The `compress train` job, composed of the separate stages (Stages) through the one StageRunner: teacher (from a
// checkpoint, or MoCo v2 pretraining), CompRess distillation into the student, k-NN evaluation of pixels / teacher /
// student, all in one run directory: config.json, metrics.jsonl, checkpoints (safetensors, atomic, with .done
// markers), loss-STAGE.png plots and summary.json. The configuration is validated as a whole before anything
// starts (StageRunner); a resumed run continues its own directory, at its MoCo or its CompRess checkpoint.
package org.compress.engine.train;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.compress.engine.data.datasets.Dataset;
import org.compress.engine.nn.models.Network;
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

    /** resume: null, "auto", a run directory or a checkpoint; stop: polled after every training step. */
    public static Summary run(TrainConfig cfg, Path runsRoot, String resume, StopRequest stop) {
        return run(cfg, StageRunner.Options.in(runsRoot).resuming(resume, stop));
    }

    /**
     * Validates everything first (nothing is created for a bad configuration), then runs in a new run directory, or
     * continues the resumed run's own directory; a stop request ends in TrainingInterruptedException after a checkpoint.
     */
    public static Summary run(TrainConfig cfg, StageRunner.Options options) {
        StageRunner.Outcome<Map<String, Map<Integer, Double>>> o = StageRunner.run("compress-" + cfg.compress().method(), cfg, cfg, options, c -> {
            Network teacher = teacher(c);
            Network student;
            try (TeacherCache cache = cfg.compress().cachedTeacher()
                    ? TeacherCache.compute(c.backend(), teacher, c.data().train(), c.data().evalView(), 256, cfg.data().workers()) : null) {
                student = Stages.distill(c, teacher, cache);
            }
            c.stop().checkBetweenStages(c.run(), ResumePoint.newest(c.run().root()).map(ResumePoint::checkpoint).orElse(null));
            Map<String, Network> nets = new LinkedHashMap<>();
            nets.put("teacher", teacher);
            nets.put("student", student);
            Map<String, Map<Integer, Double>> knn = Stages.knn(c, nets);
            c.summary().put("knn_top1", knn);
            return knn;
        });
        return new Summary(o.runDirectory(), o.value(), o.seconds());
    }

    /**
     * The teacher: the given checkpoint; or, resuming this run's distillation after its MoCo stage, the run's own
     * checkpoints/teacher.safetensors; else MoCo v2 pretraining (continuing a MoCo checkpoint when resuming one).
     */
    private static Network teacher(StageRunner.Context c) {
        TrainConfig cfg = c.cfg();
        if (cfg.teacher().checkpoint() != null) return Stages.loadTeacher(c);
        if (c.resumesDistillation() && cfg.moco().epochs() > 0) {
            TrainConfig.Model t = cfg.teacher();
            Path pretrained = c.runDirectory().resolve("checkpoints").resolve("teacher.safetensors");   // rank 0's, on every rank
            log.info("resuming the distillation with the run's pretrained teacher {}", pretrained);
            return Stages.loadTeacher(c, new TrainConfig.Model(t.arch(), t.baseWidth(), t.smallInput(), pretrained.toString(), "torchvision"));
        }
        return Stages.pretrain(c);
    }

    static Dataset openSplit(TrainConfig.Data data, String split) {
        DataSpec spec = DataSpec.of(data);
        return split.equals("train") ? spec.train() : spec.test();
    }
}
