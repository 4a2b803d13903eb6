// Options every run command shares (a picocli mixin): the config file, --print-config, data, backend, seed,
// where runs go, checkpoints kept, and the progress display. The official CompRess / MoCo names are aliases.
package org.compress.engine.cli;

import java.nio.file.Path;
import org.compress.engine.train.Progress;
import org.compress.engine.train.StageRunner;
import org.compress.engine.train.TrainConfig;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

final class RunOptions {
    private static final TrainConfig D = TrainConfig.fashionMnistDemo();

    @Option(names = {"-c", "--config"}, description = "YAML file of option: value defaults (flags on the command line win)")
    Path config;
    @Option(names = "--print-config", description = "print the resolved options as YAML and exit") boolean printConfig;

    @Option(names = "--dataset", description = "fashion-mnist (IDX files) or imagefolder (root/train, root/val class folders) (default: ${DEFAULT-VALUE})")
    String dataset = D.data().dataset();
    @Option(names = {"--data-root", "--data"}, description = "the dataset's folder (default: ${DEFAULT-VALUE})") String dataRoot = D.data().root();
    @Option(names = "--image-size", description = "imagefolder crop size; 64 or less uses the small-input stem (default: ${DEFAULT-VALUE})")
    int imageSize = 224;
    @Option(names = "--train-images", description = "training images used, 0 = all (default: ${DEFAULT-VALUE})") int trainImages = 0;
    @Option(names = "--test-images", description = "test images used, 0 = all (default: ${DEFAULT-VALUE})") int testImages = 0;
    @Option(names = {"--workers", "-j"}, description = "data-loading threads (default: ${DEFAULT-VALUE})") int workers = D.data().workers();
    @Option(names = "--backend", description = "auto, cpu (the fast CPU backend where oneDNN loads), cpu-reference (plain Java), cuda or cuda:N (default: ${DEFAULT-VALUE})") String backend = "auto";
    @Option(names = "--seed", description = "seed of data order, augmentation and initialisation (default: ${DEFAULT-VALUE})") long seed = 0;
    @Mixin ThreadsOption threads;
    @Option(names = "--out", description = "folder that receives the run directory (default: ${DEFAULT-VALUE})") Path out = Path.of("runs");
    @Option(names = "--keep-last", description = "epoch checkpoints kept per run, 0 = all (default: ${DEFAULT-VALUE})") int keepLast = 0;
    @Option(names = "--progress", description = "AUTO (a bar on a terminal, log lines otherwise), ON or OFF (default: ${DEFAULT-VALUE})")
    Progress.Mode progress = Progress.Mode.AUTO;

    StageRunner.Options runner() { return new StageRunner.Options(out, keepLast, progress); }

    TrainConfig.Data data() {
        boolean fashion = dataset.equals("fashion-mnist");
        return new TrainConfig.Data(dataset, dataRoot, trainImages, testImages, workers, fashion ? 28 : imageSize);
    }

    boolean smallInput() { return data().imageSize() <= 64; }
}
