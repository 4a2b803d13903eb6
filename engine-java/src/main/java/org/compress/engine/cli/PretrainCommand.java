// `compress pretrain`: a MoCo v2 teacher (two views, InfoNCE against a queue of momentum keys, MLP head, cosine lr),
// with the official MoCo v2 defaults; writes the run's checkpoints/teacher.safetensors (with its ModelCard).
// Checkpoints every epoch; --resume, SIGINT / SIGTERM and non-finite checks as every training command.
package org.compress.engine.cli;

import java.util.Locale;
import java.util.concurrent.Callable;
import org.compress.engine.nn.models.Network;
import org.compress.engine.train.StageRunner;
import org.compress.engine.train.Stages;
import org.compress.engine.train.TrainConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "pretrain", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Pretrain a teacher with MoCo v2 (official defaults: 200 epochs, batch 256, lr 0.03 cosine, K 65536, t 0.2, m 0.999, MLP head).")
final class PretrainCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin RunOptions run;

    @Option(names = {"--arch", "-a"}, description = "architecture (default: ${DEFAULT-VALUE})") String arch = "resnet18";
    @Option(names = "--width", description = "ResNet base width, torchvision = 64 (default: ${DEFAULT-VALUE})") int width = 64;
    @Option(names = "--epochs", description = "(default: ${DEFAULT-VALUE})") int epochs = 200;
    @Option(names = {"--batch-size", "-b"}, description = "(default: ${DEFAULT-VALUE})") int batchSize = 256;
    @Option(names = {"--lr", "--learning-rate"}, description = "base learning rate, cosine schedule (default: ${DEFAULT-VALUE})") double lr = 0.03;
    @Option(names = "--moco-k", description = "queue size (default: ${DEFAULT-VALUE})") int queue = 65536;
    @Option(names = "--moco-t", description = "softmax temperature (default: ${DEFAULT-VALUE})") float tau = 0.2f;
    @Option(names = "--moco-m", description = "momentum of the key encoder (default: ${DEFAULT-VALUE})") double momentum = 0.999;
    @Option(names = "--moco-dim", description = "output dimension of the MLP head (default: ${DEFAULT-VALUE})") int dim = 128;
    @Option(names = "--precision", description = "FP32 or BF16_MIXED (bf16 activations, FP32 masters, as PyTorch's bf16 autocast) (default: ${DEFAULT-VALUE})")
    String precision = "FP32";
    @Option(names = "--log-every", description = "steps between logged losses (default: ${DEFAULT-VALUE})") int logEvery = 50;
    @Option(names = "--resume", paramLabel = "auto|RUN_DIR|CHECKPOINT", description = "continue an interrupted pretraining in its own"
            + " directory, with the same options: auto (the newest unfinished run under --out, else a new run), a run directory"
            + " or a checkpoint (checkpoints/moco-epoch-N[-batch-B].safetensors)") String resume;

    @Override public Integer call() {
        if (Commands.printedConfig(spec, run)) return 0;
        TrainConfig.Model teacher = new TrainConfig.Model(arch, width, run.smallInput(), null, "torchvision", precision);
        TrainConfig cfg = new TrainConfig(run.data(), teacher, teacher, new TrainConfig.Moco(epochs, batchSize, lr, queue, tau, dim, momentum, logEvery),
                Commands.noCompress(batchSize), Commands.knnEval(), run.seed, run.backend);
        return Commands.training(spec, stop -> {
            var o = StageRunner.run("pretrain", cfg, Commands.recorded(spec, cfg), run.runner().resuming(resume, stop), c -> {
                Network net = Stages.pretrain(c);
                c.summary().put("teacher", c.run().checkpointPath("teacher.safetensors").toString());
                c.summary().put("embedding_dim", net.embeddingDim());
                return net.embeddingDim();
            });
            spec.commandLine().getOut().printf(Locale.ROOT, "teacher: %s (%d-d embedding, %.0f s)%n",
                    o.runDirectory().resolve("checkpoints/teacher.safetensors"), o.value(), o.seconds());
            return 0;
        });
    }
}
