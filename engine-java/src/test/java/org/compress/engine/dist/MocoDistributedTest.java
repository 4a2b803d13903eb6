// MoCo pretraining on 2 ranks (threads) against one process, with BN-free MLP encoders: the key encoder runs on the
// shuffled global batch (shuffling BN) and its keys must come back to the right queries, so the losses and the
// final query weights equal the single-process ones within |d| <= 1e-6 + 1e-5 |ref| (float sums in another order,
// as MultiProcessTrainingTest argues). A wrong un-shuffle pairs queries with other images' keys and fails this.
package org.compress.engine.dist;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.data.transforms.Normalize;
import org.compress.engine.nn.models.Network;
import org.compress.engine.train.MocoPretrainer;
import org.compress.engine.train.RunDirectory;
import org.compress.engine.train.SmallImageRecipes;
import org.compress.engine.train.TrainConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MocoDistributedTest {
    record Result(List<Double> losses, float[] weights) {}

    static Result train(Backend cpu, DistributedContext dist, Path out) throws Exception {
        long init = 40 + 11L * dist.rank();          // rank 0's weights reach the others through the reducer's broadcast
        Network query = new DistWorker.Mlp(cpu, 24, 16, init), key = new DistWorker.Mlp(cpu, 24, 16, init + 1);
        var cfg = new TrainConfig.Moco(2, 48, 0.3, 96, 0.2f, 16, 0.9, 1);
        try (RunDirectory run = new RunDirectory(out.resolve("rank-" + dist.rank()), Map.of())) {
            MocoPretrainer.train(cpu, query, key, DistWorker.data(null, dist.rank(), false), SmallImageRecipes.moco(1, 28, Normalize.FASHION_MNIST),
                    cfg, 1, 9, run, dist);
        }
        return new Result(MultiProcessTrainingTest.losses(out.resolve("rank-" + dist.rank())),
                cpu.toFloatArray(query.namedParameters().get("fc1.weight").value()));
    }

    @Test void twoRanksWithShuffledKeysTrainLikeOneProcess(@TempDir Path dir) throws Exception {
        Result one;
        try (Backend cpu = new CpuBackend(); DistributedContext single = DistributedContext.single(cpu)) {
            one = train(cpu, single, dir.resolve("one"));
        }
        List<Result> two = InProcessRanks.run(2, (dist, cpu) -> train(cpu, dist, dir.resolve("two")));
        assertEquals(8, one.losses().size());
        assertEquals(one.losses().size(), two.get(0).losses().size());
        for (int i = 0; i < one.losses().size(); i++) {
            double a = two.get(0).losses().get(i), e = one.losses().get(i);
            assertTrue(Math.abs(a - e) <= 1e-6 + 1e-5 * Math.abs(e), "step " + i + ": " + two.get(0).losses() + " vs one process " + one.losses());
        }
        double worst = 0;
        for (int i = 0; i < one.weights().length; i++) {
            worst = Math.max(worst, Math.abs(two.get(0).weights()[i] - one.weights()[i]) / (1e-6 + 1e-5 * Math.abs(one.weights()[i])));
        }
        System.out.printf("MoCo, 2 ranks vs one process: fc1.weight at %.1f%% of the tolerance%n", 100 * worst);
        assertTrue(worst <= 1, "query weights differ: " + 100 * worst + "% of the tolerance");
        assertTrue(java.util.Arrays.equals(two.get(0).weights(), two.get(1).weights()), "both ranks hold the same weights");
    }
}
