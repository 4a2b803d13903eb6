// `compress train`: runs the CompRess job. With no options it runs the embedded demo (Fashion-MNIST, a MoCo v2
// teacher, a 2q student, k-NN evaluation) sized for a few minutes on 2 CPU cores; options scale it up.
package org.compress.engine.cli;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.compress.engine.train.Pipeline;
import org.compress.engine.train.Progress;
import org.compress.engine.train.StageRunner;
import org.compress.engine.train.TrainConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "train", mixinStandardHelpOptions = true, description = "Distil a teacher into a student with CompRess (default: the Fashion-MNIST demo).")
final class TrainCommand implements Callable<Integer> {
    /** The embedded demo: the single source of every default below. */
    private static final TrainConfig D = TrainConfig.fashionMnistDemo();

    @Spec CommandSpec spec;

    @Option(names = "--dataset", description = "fashion-mnist (IDX files) or imagefolder (root/train, root/val class folders)"
            + " (default: ${DEFAULT-VALUE})") String dataset = D.data().dataset();
    @Option(names = "--image-size", description = "imagefolder crop size; 64 or less uses the small-input stem (default: 224)")
    int imageSize = 224;
    @Option(names = "--data-root", description = "the dataset's folder (default: ${DEFAULT-VALUE})") String dataRoot = D.data().root();
    @Option(names = "--train-images", description = "training images used, 0 = all 60000 (default: ${DEFAULT-VALUE})") int trainImages = D.data().trainSubset();
    @Option(names = "--test-images", description = "test images evaluated, 0 = all 10000 (default: ${DEFAULT-VALUE})") int testImages = D.data().testSubset();
    @Option(names = "--workers", description = "data-loading threads (default: ${DEFAULT-VALUE})") int workers = D.data().workers();
    @Option(names = "--teacher-arch", description = "teacher architecture (default: ${DEFAULT-VALUE})") String teacherArch = D.teacher().arch();
    @Option(names = "--teacher-width", description = "teacher ResNet base width, torchvision = 64 (default: ${DEFAULT-VALUE})") int teacherWidth = D.teacher().baseWidth();
    @Option(names = "--teacher-checkpoint", description = "load the teacher (safetensors or .pth) instead of pretraining it") String teacherCheckpoint;
    @Option(names = "--teacher-preset", description = "checkpoint key preset: torchvision, moco, swav, compress") String teacherPreset = D.teacher().checkpointPreset();
    @Option(names = "--student-arch", description = "student architecture (default: ${DEFAULT-VALUE})") String studentArch = D.student().arch();
    @Option(names = "--student-width", description = "student ResNet base width (default: ${DEFAULT-VALUE})") int studentWidth = D.student().baseWidth();
    @Option(names = "--moco-epochs", description = "teacher MoCo v2 pretraining epochs (default: ${DEFAULT-VALUE})") int mocoEpochs = D.moco().epochs();
    @Option(names = "--method", description = "2q, 2q-nomomentum or 1q (default: ${DEFAULT-VALUE})") String method = D.compress().method();
    @Option(names = "--epochs", description = "CompRess epochs (default: ${DEFAULT-VALUE})") int epochs = D.compress().epochs();
    @Option(names = "--batch-size", description = "batch size (default: ${DEFAULT-VALUE})") int batchSize = D.compress().batchSize();
    @Option(names = "--lr", description = "CompRess base learning rate (default: ${DEFAULT-VALUE})") double lr = D.compress().lr();
    @Option(names = "--queue", description = "memory-bank size K (default: ${DEFAULT-VALUE}; the paper: 128000)") int queue = D.compress().queueSize();
    @Option(names = "--lr-schedule", description = "multistep:E1,E2 (x0.2 at each, the official CompRess schedule) or cosine"
            + " (default: ${DEFAULT-VALUE})") String lrSchedule = D.compress().lrSchedule();
    @Option(names = "--tau", description = "temperature of both softmaxes (default: ${DEFAULT-VALUE})") float tau = D.compress().tau();
    @Option(names = "--bank-dtype", description = "F32 or BF16 memory banks (default: ${DEFAULT-VALUE})") String bankDtype = D.compress().bankDtype();
    @Option(names = "--cached-teacher", description = "compute teacher embeddings once per image and look them up (default: ${DEFAULT-VALUE})")
    boolean cachedTeacher = D.compress().cachedTeacher();
    @Option(names = "--resume", paramLabel = "auto|RUN_DIR|CHECKPOINT", description = "continue an interrupted run in its own directory,"
            + " with the same options: auto (the newest unfinished run under --out, else a new run), a run directory (its newest"
            + " checkpoint) or a checkpoint (runs/.../checkpoints/{moco,compress}-epoch-N[-batch-B].safetensors)") String resume;
    @picocli.CommandLine.Mixin ThreadsOption threads;
    @Option(names = "--backend", description = "auto, cpu (the fast CPU backend where oneDNN loads), cpu-reference (plain Java), cuda or cuda:N (default: ${DEFAULT-VALUE})") String backend = D.backend();
    @Option(names = "--seed", description = "seed of data order, augmentation and initialisation (default: ${DEFAULT-VALUE})") long seed = D.seed();
    @Option(names = "--out", description = "folder that receives the run directory (default: ${DEFAULT-VALUE})") Path out = Path.of("runs");
    @Option(names = "--keep-last", description = "epoch checkpoints kept, 0 = all (default: ${DEFAULT-VALUE})") int keepLast = 0;
    @Option(names = "--progress", description = "AUTO (a bar on a terminal, log lines otherwise), ON or OFF (default: ${DEFAULT-VALUE})")
    Progress.Mode progress = Progress.Mode.AUTO;
    @Option(names = {"-c", "--config"}, description = "YAML file of option: value defaults (flags on the command line win)") Path config;
    @Option(names = "--print-config", description = "print the resolved options as YAML and exit") boolean printConfig;

    @Override public Integer call() {
        if (config != null) ConfigFile.load(config).checkKeys(spec);
        if (printConfig) {
            spec.commandLine().getOut().print(ConfigFile.print(spec));
            spec.commandLine().getOut().flush();
            return 0;
        }
        TrainConfig d = D;
        boolean fashion = dataset.equals("fashion-mnist");
        int size = fashion ? d.data().imageSize() : imageSize;
        boolean smallInput = size <= 64;
        TrainConfig cfg = new TrainConfig(
                new TrainConfig.Data(dataset, dataRoot, trainImages, testImages, workers, size),
                new TrainConfig.Model(teacherArch, teacherWidth, smallInput, teacherCheckpoint, teacherPreset),
                new TrainConfig.Model(studentArch, studentWidth, smallInput, null, "torchvision"),
                new TrainConfig.Moco(mocoEpochs, batchSize, d.moco().lr(), queue, d.moco().tau(), d.moco().headDim(), d.moco().momentum(), d.moco().logEvery()),
                new TrainConfig.Compress(method, epochs, batchSize, lr, queue, tau, d.compress().momentum(), bankDtype, "AUTO", false, d.compress().logEvery(), cachedTeacher,
                        lrSchedule),
                d.eval(), seed, backend);
        return Commands.training(spec, stop -> {
            Pipeline.Summary s = Pipeline.run(cfg, new StageRunner.Options(out, keepLast, progress).resuming(resume, stop));
            var w = spec.commandLine().getOut();
            w.printf(Locale.ROOT, "%nrun directory: %s (%.0f s)%n", s.runDirectory(), s.seconds());
            w.printf(Locale.ROOT, "k-NN top-1 on the test images:%n");
            for (Map.Entry<String, Map<Integer, Double>> e : s.knn().entrySet()) {
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "  %-8s", e.getKey()));
                e.getValue().forEach((k, a) -> line.append(String.format(Locale.ROOT, "  k=%-3d %6.2f%%", k, 100 * a)));
                w.println(line);
            }
            return 0;
        });
    }
}
