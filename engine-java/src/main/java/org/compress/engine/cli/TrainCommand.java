// `compress train`: runs the CompRess job. With no options it runs the embedded demo (Fashion-MNIST, a MoCo v2
// teacher, a 2q student, k-NN evaluation) sized for a few minutes on 2 CPU cores; options scale it up.
package org.compress.engine.cli;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.compress.engine.train.Pipeline;
import org.compress.engine.train.TrainConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "train", description = "Distil a teacher into a student with CompRess (default: the Fashion-MNIST demo).")
final class TrainCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--data-root", description = "Fashion-MNIST IDX folder (default: ${DEFAULT-VALUE})",
            defaultValue = "/usr/share/datasets/fashion-mnist") String dataRoot;
    @Option(names = "--train-images", description = "training images used, 0 = all 60000 (default: ${DEFAULT-VALUE})", defaultValue = "4000") int trainImages;
    @Option(names = "--test-images", description = "test images evaluated, 0 = all 10000 (default: ${DEFAULT-VALUE})", defaultValue = "1000") int testImages;
    @Option(names = "--workers", description = "data-loading threads (default: ${DEFAULT-VALUE})", defaultValue = "2") int workers;
    @Option(names = "--teacher-arch", defaultValue = "resnet18", description = "teacher architecture (default: ${DEFAULT-VALUE})") String teacherArch;
    @Option(names = "--teacher-width", defaultValue = "16", description = "teacher ResNet base width, torchvision = 64 (default: ${DEFAULT-VALUE})") int teacherWidth;
    @Option(names = "--teacher-checkpoint", description = "load the teacher (safetensors or .pth) instead of pretraining it") String teacherCheckpoint;
    @Option(names = "--teacher-preset", defaultValue = "torchvision", description = "checkpoint key preset: torchvision, moco, swav, compress") String teacherPreset;
    @Option(names = "--student-arch", defaultValue = "resnet18", description = "student architecture (default: ${DEFAULT-VALUE})") String studentArch;
    @Option(names = "--student-width", defaultValue = "8", description = "student ResNet base width (default: ${DEFAULT-VALUE})") int studentWidth;
    @Option(names = "--moco-epochs", defaultValue = "2", description = "teacher MoCo v2 pretraining epochs (default: ${DEFAULT-VALUE})") int mocoEpochs;
    @Option(names = "--method", defaultValue = "2q", description = "2q, 2q-nomomentum or 1q (default: ${DEFAULT-VALUE})") String method;
    @Option(names = "--epochs", defaultValue = "2", description = "CompRess epochs (default: ${DEFAULT-VALUE})") int epochs;
    @Option(names = "--batch-size", defaultValue = "128", description = "batch size (default: ${DEFAULT-VALUE})") int batchSize;
    @Option(names = "--lr", defaultValue = "0.05", description = "CompRess base learning rate, cosine schedule (default: ${DEFAULT-VALUE})") double lr;
    @Option(names = "--queue", defaultValue = "4096", description = "memory-bank size K (default: ${DEFAULT-VALUE}; the paper: 128000)") int queue;
    @Option(names = "--tau", defaultValue = "0.04", description = "temperature of both softmaxes (default: ${DEFAULT-VALUE})") float tau;
    @Option(names = "--bank-dtype", defaultValue = "F32", description = "F32 or BF16 memory banks (default: ${DEFAULT-VALUE})") String bankDtype;
    @Option(names = "--backend", defaultValue = "auto", description = "auto, cpu, cuda or cuda:N (default: ${DEFAULT-VALUE})") String backend;
    @Option(names = "--seed", defaultValue = "0", description = "seed of data order, augmentation and initialisation") long seed;
    @Option(names = "--out", defaultValue = "runs", description = "folder that receives the run directory (default: ${DEFAULT-VALUE})") Path out;

    @Override public Integer call() {
        TrainConfig d = TrainConfig.fashionMnistDemo();
        TrainConfig cfg = new TrainConfig(
                new TrainConfig.Data("fashion-mnist", dataRoot, trainImages, testImages, workers, d.data().imageSize()),
                new TrainConfig.Model(teacherArch, teacherWidth, true, teacherCheckpoint, teacherPreset),
                new TrainConfig.Model(studentArch, studentWidth, true, null, "torchvision"),
                new TrainConfig.Moco(mocoEpochs, batchSize, d.moco().lr(), queue, d.moco().tau(), d.moco().headDim(), d.moco().momentum()),
                new TrainConfig.Compress(method, epochs, batchSize, lr, queue, tau, d.compress().momentum(), bankDtype, "AUTO", false),
                d.eval(), seed, backend);
        Pipeline.Summary s = Pipeline.run(cfg, out);
        var w = spec.commandLine().getOut();
        w.printf(Locale.ROOT, "%nrun directory: %s (%.0f s)%n", s.runDirectory(), s.seconds());
        w.printf(Locale.ROOT, "k-NN top-1 on the test images:%n");
        for (Map.Entry<String, Map<Integer, Double>> e : s.knn().entrySet()) {
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "  %-8s", e.getKey()));
            e.getValue().forEach((k, a) -> line.append(String.format(Locale.ROOT, "  k=%-3d %6.2f%%", k, 100 * a)));
            w.println(line);
        }
        return 0;
    }
}
