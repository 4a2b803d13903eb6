// `compress eval knn|linear|clusters`: the paper's three evaluations of a checkpoint's frozen embedding on the
// centre-crop view: NN and weighted k-NN (k 20, 200), the linear probe of the official script, and cluster
// alignment (k-means, Hungarian matching of clusters to classes on train, accuracy on the test split).
package org.compress.engine.cli;

import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.compress.engine.EngineException;
import org.compress.engine.nn.models.Head;
import org.compress.engine.nn.models.Network;
import org.compress.engine.train.Embeddings;
import org.compress.engine.train.LinearProbe;
import org.compress.engine.train.Models;
import org.compress.engine.train.StageRunner;
import org.compress.engine.train.Stages;
import org.compress.engine.train.StudentExport;
import org.compress.engine.train.TrainConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Evaluate a checkpoint's frozen embedding: knn (NN, k-NN 20/200), linear (probe), clusters (alignment); or all.")
final class EvalCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin RunOptions run;

    @Parameters(arity = "1..*", paramLabel = "EVALUATION", description = "knn, linear, clusters or all") List<String> evaluations;
    @Option(names = {"--weights", "--model"}, required = true, description = "the network: safetensors of this engine, or PyTorch weights") Path weights;
    @Option(names = {"--arch", "-a"}, description = "architecture when the file does not say (default: ${DEFAULT-VALUE})") String arch = "resnet18";
    @Option(names = "--width", description = "ResNet base width when the file does not say (default: ${DEFAULT-VALUE})") int width = 64;
    @Option(names = "--preset", description = "key preset of foreign weights: torchvision, moco, swav, compress (default: ${DEFAULT-VALUE})")
    String preset = "torchvision";
    @Option(names = {"-k", "--knn-k"}, split = ",", description = "k of k-NN, 1 = NN (default: ${DEFAULT-VALUE})") int[] k = {1, 20, 200};
    @Option(names = "--knn-t", description = "temperature of the k-NN votes (default: ${DEFAULT-VALUE})") double knnT = 0.07;
    @Option(names = "--linear-epochs", description = "(default: ${DEFAULT-VALUE})") int linearEpochs = 40;
    @Option(names = "--linear-lr", description = "(default: ${DEFAULT-VALUE})") double linearLr = 0.01;
    @Option(names = "--linear-milestones", split = ",", description = "epochs of x0.1 (default: ${DEFAULT-VALUE})") int[] linearMilestones = {15, 30};
    @Option(names = "--clusters", description = "k-means clusters, 0 = as many as classes (default: ${DEFAULT-VALUE})") int clusters = 0;
    @Option(names = "--cluster-iterations", description = "Lloyd iterations at most (default: ${DEFAULT-VALUE})") int clusterIterations = 30;

    @Override public Integer call() {
        if (Commands.printedConfig(spec, run)) return 0;
        Set<String> which = new LinkedHashSet<>();
        for (String e : evaluations) {
            switch (e) {
                case "knn", "linear", "clusters" -> which.add(e);
                case "all" -> which.addAll(List.of("knn", "linear", "clusters"));
                default -> throw new EngineException("eval: expected knn, linear, clusters or all, found '" + e + "'");
            }
        }
        TrainConfig.Model m = Commands.model(weights, arch, width, run.smallInput(), preset);
        TrainConfig cfg = new TrainConfig(run.data(), m, m, Commands.noMoco(), Commands.noCompress(256),
                new TrainConfig.Eval(k, knnT), run.seed, run.backend);
        LinearProbe.Options o = LinearProbe.Options.official();
        Stages.EvalSettings settings = new Stages.EvalSettings(k, knnT, new LinearProbe.Options(linearEpochs, linearLr, linearMilestones,
                o.gamma(), o.batchSize(), o.momentum(), o.weightDecay(), run.seed), clusters, clusterIterations);
        var out = StageRunner.run("eval", cfg, Commands.recorded(spec, cfg), run.runner(), c -> {
            Network net = Models.build(c.backend(), m, c.data().channels(), Head.none(), run.seed);
            Stages.loadForEval(net, weights, m);
            Embeddings.Set[] sets = Stages.embed(c, net);
            Map<String, Double> acc = Stages.evaluate(c, "model", sets, which, settings);
            c.summary().put("weights", weights.toString());
            c.summary().put("top1", acc);
            if (c.lastProbe() != null) {
                Path probe = c.run().checkpointPath("linear-probe.safetensors");
                StudentExport.writeProbe(probe, c.lastProbe());
                c.run().markComplete(probe);
                c.summary().put("probe", probe.toString());
            }
            return acc;
        });
        var w = spec.commandLine().getOut();
        w.printf(Locale.ROOT, "%s on %s (%.0f s), top-1 on the test split:%n", weights, out.runDirectory(), out.seconds());
        out.value().forEach((metric, a) -> w.printf(Locale.ROOT, "  %-9s %6.2f%%%n", metric, 100 * a));
        if (out.summary().containsKey("probe")) w.printf("linear probe for export --probe: %s%n", out.summary().get("probe"));
        return 0;
    }
}
