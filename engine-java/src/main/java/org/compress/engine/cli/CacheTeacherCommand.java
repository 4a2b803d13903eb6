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
    @Option(names = "--views", description = "0: the centre crop (as the official code); N: N augmented views (the CompRess recipe as"
            + " distill's loader draws it at epochs 0..N-1 with this --seed; distill then cycles through them) (default: ${DEFAULT-VALUE})")
    int views = 0;
    @Option(names = {"--output", "-o"}, description = "cache file (default: the run's checkpoints/teacher-cache.safetensors)") Path output;

    @Override public Integer call() {
        if (Commands.printedConfig(spec, run)) return 0;
        if (views < 0) throw new IllegalArgumentException("cache-teacher: --views must be 0 or more, found " + views);
        TrainConfig.Model t = Commands.model(teacher, teacherArch, teacherWidth, run.smallInput(), teacherPreset);
        TrainConfig cfg = new TrainConfig(run.data(), t, t, Commands.noMoco(), Commands.noCompress(256), Commands.knnEval(), run.seed, run.backend);
        var o = StageRunner.run("cache-teacher", cfg, Commands.recorded(spec, cfg), run.runner(), c -> {
            Network net = Stages.loadTeacher(c);
            Path file = output != null ? output : c.run().checkpointPath("teacher-cache.safetensors");
            int n = c.data().train().size(), dim = net.embeddingDim();
            float[] values = new float[n * Math.max(1, views) * dim];
            for (int v = 0; v < Math.max(1, views); v++) {
                Embeddings.Set set = views == 0 ? Embeddings.of(c.backend(), net, c.data().train(), c.data().evalView(), 256, cfg.data().workers())
                        : Embeddings.of(c.backend(), net, c.data().train(), c.data().view(), 256, cfg.data().workers(), run.seed, v);
                System.arraycopy(set.values(), 0, values, v * n * dim, n * dim);
            }
            TeacherCache.save(file, values, dim, views, run.seed, c.data().train(), teacher.toString());
            c.summary().put("cache", file.toString());
            c.summary().put("images", n);
            c.summary().put("views", views);
            c.summary().put("dim", dim);
            return file;
        });
        spec.commandLine().getOut().printf(Locale.ROOT, "teacher cache: %s (%.0f s)%n", o.value(), o.seconds());
        return 0;
    }
}
