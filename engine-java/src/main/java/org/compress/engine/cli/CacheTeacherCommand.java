// `compress cache-teacher`: the teacher's embedding of every training image on the centre-crop view (as the
// official code caches it), row i = image i, with a hash of the dataset listing so `distill` refuses other data.
package org.compress.engine.cli;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.compress.engine.nn.models.Network;
import org.compress.engine.train.Embeddings;
import org.compress.engine.train.StageRunner;
import org.compress.engine.train.Stages;
import org.compress.engine.train.TeacherCache;
import org.compress.engine.train.TrainConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "cache-teacher", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Compute the teacher's embedding of every training image once, for `distill --teacher-cache`.")
final class CacheTeacherCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin RunOptions run;

    @Option(names = {"--teacher", "--weights"}, required = true, description = "teacher weights: safetensors, or a PyTorch .pth/.pth.tar") Path teacher;
    @Option(names = {"--teacher-arch", "--teacher_arch"}, description = "when the file does not say (default: ${DEFAULT-VALUE})") String teacherArch = "resnet50";
    @Option(names = "--teacher-width", description = "when the file does not say (default: ${DEFAULT-VALUE})") int teacherWidth = 64;
    @Option(names = "--teacher-preset", description = "key preset of foreign weights (default: ${DEFAULT-VALUE})") String teacherPreset = "moco";
    @Option(names = {"--output", "-o"}, description = "cache file (default: the run's checkpoints/teacher-cache.safetensors)") Path output;

    @Override public Integer call() {
        if (Commands.printedConfig(spec, run)) return 0;
        TrainConfig.Model t = Commands.model(teacher, teacherArch, teacherWidth, run.smallInput(), teacherPreset);
        TrainConfig cfg = new TrainConfig(run.data(), t, t, Commands.noMoco(), Commands.noCompress(256), Commands.knnEval(), run.seed, run.backend);
        var o = StageRunner.run("cache-teacher", cfg, Commands.recorded(spec, cfg), run.runner(), c -> {
            Network net = Stages.loadTeacher(c);
            Embeddings.Set set = Embeddings.of(c.backend(), net, c.data().train(), c.data().evalView(), 256, cfg.data().workers());
            Path file = output != null ? output : c.run().checkpointPath("teacher-cache.safetensors");
            TeacherCache.save(file, set, c.data().train(), teacher.toString());
            c.summary().put("cache", file.toString());
            c.summary().put("images", set.labels().length);
            c.summary().put("dim", set.dim());
            return file;
        });
        spec.commandLine().getOut().printf(Locale.ROOT, "teacher cache: %s (%.0f s)%n", o.value(), o.seconds());
        return 0;
    }
}
