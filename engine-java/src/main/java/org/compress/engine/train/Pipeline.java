// The `compress train` job, composed of the separate stages (Stages) through the one StageRunner: teacher (from a
// checkpoint, or MoCo v2 pretraining), CompRess distillation into the student, k-NN evaluation of pixels / teacher /
// student, all in one run directory: config.json, metrics.jsonl, checkpoints (safetensors, atomic, with .done
// markers), loss-STAGE.png plots and summary.json.
package org.compress.engine.train;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.compress.engine.data.datasets.Dataset;
import org.compress.engine.nn.models.Network;

public final class Pipeline {
    /** k-NN accuracies per representation ("pixels", "teacher", "student") and k. */
    public record Summary(Path runDirectory, Map<String, Map<Integer, Double>> knn, double seconds) {}

    private Pipeline() {}

    public static Summary run(TrainConfig cfg, Path runsRoot) { return run(cfg, runsRoot, null); }

    public static Summary run(TrainConfig cfg, Path runsRoot, Path resumeFrom) { return run(cfg, StageRunner.Options.in(runsRoot), resumeFrom); }

    /**
     * resumeFrom: an epoch checkpoint (checkpoints/compress-epoch-N.safetensors) of an earlier run with the same
     * configuration; the teacher then comes from that run's teacher.safetensors unless a teacher checkpoint is given.
     */
    public static Summary run(TrainConfig cfg, StageRunner.Options options, Path resumeFrom) {
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
        CompressTrainer.Method.parse(cfg.compress().method()); // a bad method fails before any work
        TrainConfig resolved = cfg;
        StageRunner.Outcome<Map<String, Map<Integer, Double>>> o = StageRunner.run("compress-" + cfg.compress().method(), cfg, cfg, options, c -> {
            Network teacher = resolved.teacher().checkpoint() != null ? Stages.loadTeacher(c) : Stages.pretrain(c);
            Network student;
            try (TeacherCache cache = resolved.compress().cachedTeacher()
                    ? TeacherCache.compute(c.backend(), teacher, c.data().train(), c.data().evalView(), 256, resolved.data().workers()) : null) {
                student = Stages.distill(c, teacher, cache, resumeFrom);
            }
            Map<String, Network> nets = new LinkedHashMap<>();
            nets.put("teacher", teacher);
            nets.put("student", student);
            Map<String, Map<Integer, Double>> knn = Stages.knn(c, nets);
            c.summary().put("knn_top1", knn);
            return knn;
        });
        return new Summary(o.runDirectory(), o.value(), o.seconds());
    }

    static Dataset openSplit(TrainConfig.Data data, String split) {
        DataSpec spec = DataSpec.of(data);
        return split.equals("train") ? spec.train() : spec.test();
    }
}
