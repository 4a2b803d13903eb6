// `compress distill`: CompRess-2q / 1q / 2q without momentum from an online teacher (safetensors or PyTorch
// weights) or a teacher cache (`compress cache-teacher`), with the official CompRess defaults. Checkpoints every
// epoch; --resume, SIGINT / SIGTERM and non-finite checks as every training command.
package org.compress.engine.cli;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.compress.engine.EngineException;
import org.compress.engine.nn.models.Network;
import org.compress.engine.train.ModelCard;
import org.compress.engine.train.StageRunner;
import org.compress.engine.train.Stages;
import org.compress.engine.train.TeacherCache;
import org.compress.engine.train.TrainConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "distill", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Compress a teacher into a student with CompRess (official defaults: SGD lr 0.01, batch 256, 130 epochs,"
                + " x0.2 at 90 and 120, K 128000, t 0.04, momentum student 0.999).")
final class DistillCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin RunOptions run;

    @Option(names = {"--teacher", "--weights"}, description = "teacher weights: safetensors, or a PyTorch .pth/.pth.tar") Path teacher;
    @Option(names = {"--teacher-arch", "--teacher_arch"}, description = "teacher architecture when the file does not say (default: ${DEFAULT-VALUE})")
    String teacherArch = "resnet50";
    @Option(names = "--teacher-width", description = "teacher ResNet base width when the file does not say (default: ${DEFAULT-VALUE})")
    int teacherWidth = 64;
    @Option(names = "--teacher-preset", description = "key preset of foreign weights: torchvision, moco, swav, compress (default: ${DEFAULT-VALUE})")
    String teacherPreset = "moco";
    @Option(names = "--teacher-cache", description = "teacher embeddings from `compress cache-teacher` instead of running the teacher")
    Path teacherCache;
    @Option(names = {"--arch", "-a", "--student-arch", "--student_arch"}, description = "student architecture (default: ${DEFAULT-VALUE})")
    String arch = "resnet18";
    @Option(names = {"--width", "--student-width"}, description = "student ResNet base width (default: ${DEFAULT-VALUE})") int width = 64;
    @Option(names = "--method", description = "2q, 1q or 2q-nomomentum (default: ${DEFAULT-VALUE})") String method = "2q";
    @Option(names = "--epochs", description = "(default: ${DEFAULT-VALUE})") int epochs = 130;
    @Option(names = {"--batch-size", "-b"}, description = "(default: ${DEFAULT-VALUE})") int batchSize = 256;
    @Option(names = {"--lr", "--learning-rate"}, description = "(default: ${DEFAULT-VALUE})") double lr = 0.01;
    @Option(names = {"--lr-schedule"}, description = "multistep:E1,E2 (x0.2 at each) or cosine (default: ${DEFAULT-VALUE})")
    String lrSchedule = "multistep:90,120";
    @Option(names = {"--queue", "--compress_memory_size", "--compress-memory-size"}, description = "memory bank size K (default: ${DEFAULT-VALUE})")
    int queue = 128000;
    @Option(names = {"--tau", "--compress_t", "--compress-t"}, description = "temperature (default: ${DEFAULT-VALUE})") float tau = 0.04f;
    @Option(names = {"--momentum", "--compress_m"}, description = "EMA of the momentum student, 2q (default: ${DEFAULT-VALUE})") double momentum = 0.999;
    @Option(names = "--bank-dtype", description = "F32 or BF16 banks (default: ${DEFAULT-VALUE})") String bankDtype = "F32";
    @Option(names = "--resume", paramLabel = "auto|RUN_DIR|CHECKPOINT", description = "continue an interrupted distillation in its own"
            + " directory, with the same options: auto (the newest unfinished run under --out, else a new run), a run directory"
            + " or a checkpoint (checkpoints/compress-epoch-N[-batch-B].safetensors)") String resume;
    @Option(names = "--precision", description = "FP32 or BF16_MIXED (bf16 activations, FP32 masters, as PyTorch's bf16 autocast) (default: ${DEFAULT-VALUE})")
    String precision = "FP32";
    @Option(names = "--log-every", description = "steps between logged losses (default: ${DEFAULT-VALUE})") int logEvery = 50;

    @Override public Integer call() {
        if (Commands.printedConfig(spec, run)) return 0;
        if (teacher == null && teacherCache == null) throw new EngineException("distill: give the teacher (--teacher FILE) or a teacher cache (--teacher-cache FILE)");
        TrainConfig.Model t = teacher != null ? Commands.model(teacher, teacherArch, teacherWidth, run.smallInput(), teacherPreset)
                : new TrainConfig.Model(teacherArch, teacherWidth, run.smallInput(), null, teacherPreset);
        TrainConfig.Model s = new TrainConfig.Model(arch, width, run.smallInput(), null, "torchvision", precision);
        TrainConfig cfg = new TrainConfig(run.data(), t, s, Commands.noMoco(),
                new TrainConfig.Compress(method, epochs, batchSize, lr, queue, tau, momentum, bankDtype, "AUTO", false, logEvery,
                        teacherCache != null, lrSchedule), Commands.knnEval(), run.seed, run.backend);
        return Commands.training(spec, stop -> {
            var o = StageRunner.run("distill-" + method, cfg, Commands.recorded(spec, cfg), run.runner().resuming(resume, stop), data -> {
                if (teacherCache == null) return; // a cache for other data, another seed or another teacher: refused before any work
                TeacherCache.check(teacherCache, data.train(), run.seed);
                int cacheDim = TeacherCache.dim(teacherCache);
                ModelCard card = teacher != null ? ModelCard.read(teacher) : null;
                if (card != null && card.embeddingDim() != cacheDim) {
                    throw new EngineException("teacher cache holds " + cacheDim + "-d embeddings but the teacher embeds in " + card.embeddingDim()
                            + "-d: the cache was made by another teacher");
                }
            }, c -> {
                Network net = teacher != null ? Stages.loadTeacher(c) : null;
                try (TeacherCache cache = teacherCache != null ? TeacherCache.load(c.backend(), teacherCache, c.data().train(), run.seed) : null) {
                    Network student = Stages.distill(c, net, cache);
                    c.summary().put("student", c.run().checkpointPath("student.safetensors").toString());
                    return student.embeddingDim();
                }
            });
            spec.commandLine().getOut().printf(Locale.ROOT, "student: %s (%d-d embedding, %.0f s)%n",
                    o.runDirectory().resolve("checkpoints/student.safetensors"), o.value(), o.seconds());
            return 0;
        });
    }
}
