// MoCo v2 pretraining of a teacher: query encoder (trunk + MLP head) trained with InfoNCE against a queue of
// momentum-encoder keys; cosine learning rate per iteration, SGD momentum 0.9, weight decay 1e-4.
//   q = f_q(view1); k = f_k(view2) after the momentum update; loss = InfoNCE(q, k, queue); enqueue(k).
package org.compress.engine.train;

import org.compress.engine.backend.Backend;
import org.compress.engine.data.datasets.Dataset;
import org.compress.engine.dist.DistributedContext;
import org.compress.engine.dist.GradientReducer;
import org.compress.engine.data.loader.DataLoader;
import org.compress.engine.data.loader.LoaderConfig;
import org.compress.engine.data.transforms.Recipe;
import org.compress.engine.loss.InfoNceLoss;
import org.compress.engine.loss.MemoryBank;
import org.compress.engine.nn.models.Network;
import org.compress.engine.ops.LossPath;
import org.compress.engine.optim.LrSchedule;
import org.compress.engine.optim.MomentumEncoder;
import org.compress.engine.optim.Sgd;
import org.compress.engine.tensor.DType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public final class MocoPretrainer {
    private static final Logger log = LoggerFactory.getLogger(MocoPretrainer.class);

    private MocoPretrainer() {}

    /** Trains {@code query} in place; {@code key} must be a network of the same architecture (its momentum copy). */
    public static void train(Backend backend, Network query, Network key, Dataset data, Recipe twoViews, TrainConfig.Moco cfg,
                             int workers, long seed, RunDirectory run) {
        train(backend, query, key, data, twoViews, cfg, workers, seed, run, DistributedContext.single(backend));
    }

    /**
     * As above, data-parallel over {@code dist}'s ranks: cfg.batchSize() is the global batch, gradients are averaged, the
     * key encoder runs on a shuffled global batch (MoCo's shuffling BN) and the keys of the whole global batch are
     * enqueued on every rank.
     */
    public static void train(Backend backend, Network query, Network key, Dataset data, Recipe twoViews, TrainConfig.Moco cfg,
                             int workers, long seed, RunDirectory run, DistributedContext dist) {
        if (twoViews.views() != 2) throw new IllegalArgumentException("MoCo needs a two-view recipe, found " + twoViews.views());
        LoaderConfig loaderCfg = dist.shard(LoaderConfig.of(cfg.batchSize()).workers(workers).seed(seed).dropLast(true)); // dist: this rank's shard
        int queue = Math.min(cfg.queueSize(), data.size());
        try (DataLoader loader = new DataLoader(data, twoViews, loaderCfg);
             MemoryBank bank = MemoryBank.uniform(backend, queue, query.outputDim(), DType.F32, seed + 1);
             InfoNceLoss loss = new InfoNceLoss(backend, new InfoNceLoss.Config(cfg.tau(), LossPath.AUTO, false));
             Sgd sgd = new Sgd(backend, query.namedParameters(), Sgd.Options.compress());
             GradientReducer gradients = dist.gradientReducer(query);    // dist: rank 0's weights, then bucketed all-reduce; no-op for one rank
             MomentumEncoder momentum = new MomentumEncoder(backend, query, key, cfg.momentum())) {
            LrSchedule schedule = LrSchedule.cosine(cfg.lr(), cfg.epochs(), 0);
            StepLog steps = new StepLog("moco", run, log, cfg.logEvery());
            int perEpoch = loader.batchesPerEpoch();
            query.train();
            key.train();
            for (int epoch = 0; epoch < cfg.epochs(); epoch++) {
                try (TrainingBatches.CloseableIterator it = TrainingBatches.epoch(backend, loader, epoch)) {
                    int i = 0;
                    while (it.hasNext()) {
                        try (TrainingBatches.Step b = it.next()) {
                            double lr = schedule.lr(epoch + (double) i++ / perEpoch);
                            var qOut = query.forward(b.view(0));
                            momentum.update();
                            long shuffleSeed = seed ^ (0x9E3779B97F4A7C15L * (epoch * (long) perEpoch + i));
                            var kOut = dist.shuffledKeys(b.view(1), key::forward, shuffleSeed);  // dist: shuffling BN; one rank: key.forward
                            InfoNceLoss.Result r = loss.compute(qOut, kOut, bank);
                            query.backward(r.gradQuery());
                            gradients.finish();                                   // dist: mean over ranks
                            sgd.step((float) lr);
                            bank.enqueue(dist.gatherRows(r.keysNormalized()));    // dist: the global batch's keys
                            steps.step(epoch, b.size() * dist.worldSize(), lr, () -> dist.mean(backend.toFloatArray(r.lossMean())[0]));
                        }
                    }
                }
            }
        }
    }
}
