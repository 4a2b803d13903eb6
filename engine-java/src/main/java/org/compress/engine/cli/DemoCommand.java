// `compress demo`: compressing a strong self-supervised teacher gives a better small model than training that small
// model by self-supervision for the same budget, shown on Fashion-MNIST (see train/Demo). The scale follows the
// hardware: a GPU gets the larger one; 2 CPU cores the one sized for at most 15 minutes.
package org.compress.engine.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.compress.engine.EngineException;
import org.compress.engine.backend.cuda.CudaProbe;
import org.compress.engine.train.Demo;
import org.compress.engine.train.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = "CompRess-2q / 1q vs MoCo v2 alone vs supervised on Fashion-MNIST with one student budget: the paper's table in miniature.")
final class DemoCommand implements Callable<Integer> {
    /** Where the teacher this repository is to ship lives (not committed yet: until then pass --teacher or --retrain-teacher). */
    static final String SHIPPED_TEACHER = "models/fashion-mnist-teacher.safetensors";

    @Spec CommandSpec spec;

    @Option(names = {"-c", "--config"}, description = "YAML file of option: value defaults") Path config;
    @Option(names = "--print-config", description = "print the resolved options as YAML and exit") boolean printConfig;
    @Option(names = "--scale", description = "auto (gpu when CUDA is usable, else cpu), cpu, gpu or tiny (default: ${DEFAULT-VALUE})")
    String scale = "auto";
    @Option(names = "--teacher", description = "the teacher (default: the shipped " + SHIPPED_TEACHER + ")") Path teacher;
    @Option(names = "--retrain-teacher", description = "pretrain the teacher with MoCo v2 at the scale's teacher budget first") boolean retrainTeacher;
    @Option(names = "--epochs", description = "student epochs instead of the scale's") Integer epochs;
    @Option(names = "--train-images", description = "training images instead of the scale's") Integer trainImages;
    @Option(names = "--test-images", description = "test images instead of the scale's (10000 = the full test set)") Integer testImages;
    @Option(names = "--seeds", split = ",", description = "one run of every method per seed (default: 0,1)") long[] seeds = {0, 1};
    @Option(names = "--data-root", description = "Fashion-MNIST's folder (default: ${DEFAULT-VALUE})") String dataRoot = "/usr/share/datasets/fashion-mnist";
    @picocli.CommandLine.Mixin ThreadsOption threads;
    @Option(names = "--backend", description = "auto, cpu (the fast CPU backend where oneDNN loads), cpu-reference (plain Java), cuda or cuda:N (default: ${DEFAULT-VALUE})") String backend = "auto";
    @Option(names = {"--workers", "-j"}, description = "data-loading threads (default: ${DEFAULT-VALUE})") int workers = 2;
    @Option(names = "--out", description = "folder that receives the demo folder (default: ${DEFAULT-VALUE})") Path out = Path.of("runs");
    @Option(names = "--progress", description = "AUTO, ON or OFF (default: ${DEFAULT-VALUE})") Progress.Mode progress = Progress.Mode.AUTO;

    @Override public Integer call() {
        if (config != null) ConfigFile.load(config).checkKeys(spec);
        if (printConfig) {
            spec.commandLine().getOut().print(ConfigFile.print(spec));
            spec.commandLine().getOut().flush();
            return 0;
        }
        boolean gpu = backend.startsWith("cuda") || (backend.equals("auto") && CudaProbe.probe().available());
        Demo.Scale s = Demo.Scale.named(scale, gpu);
        if (epochs != null) s = s.withEpochs(epochs);
        if (trainImages != null || testImages != null) {
            s = s.withImages(trainImages != null ? trainImages : s.trainImages(), testImages != null ? testImages : s.testImages());
        }
        Path t = null;
        if (!retrainTeacher) {
            t = teacher != null ? teacher : shippedTeacher();
            if (!Files.isRegularFile(t)) {
                throw new EngineException("demo teacher " + t + " does not exist: pass --teacher FILE, or --retrain-teacher to pretrain one ("
                        + s.teacher().epochs() + " MoCo v2 epochs at this scale: " + s.teacher().command() + ")");
            }
        }
        var w = spec.commandLine().getOut();
        w.printf(Locale.ROOT, "demo at scale %s: student ResNet-18 width %d, %d epochs on %d images; seeds %s%n", s.name(), s.studentWidth(),
                s.epochs(), s.trainImages(), Arrays.toString(seeds));
        Demo.Result r = Demo.run(s, t, dataRoot, backend, workers, seeds, out, progress);
        w.println();
        w.print(Demo.markdown(r, s));
        w.printf("%nfolder: %s (demo-table.md, demo-table.csv, demo-accuracy.png)%n", r.folder());
        return 0;
    }

    private static Path shippedTeacher() {
        String home = System.getProperty("compress.home");
        return home != null ? Path.of(home).resolve(SHIPPED_TEACHER) : Path.of(SHIPPED_TEACHER);
    }
}
