// MoCo v2 pretraining of a teacher: query encoder (trunk + MLP head) trained with InfoNCE against a queue of
// momentum-encoder keys; cosine learning rate per iteration, SGD momentum 0.9, weight decay 1e-4.
//   q = f_q(view1); k = f_k(view2) after the momentum update; loss = InfoNCE(q, k, queue); enqueue(k).
package org.compress.engine.train;

import org.compress.engine.backend.Backend;
import org.compress.engine.data.datasets.Dataset;
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
        if (twoViews.views() != 2) throw new IllegalArgumentException("MoCo needs a two-view recipe, found " + twoViews.views());
        LoaderConfig loaderCfg = LoaderConfig.of(cfg.batchSize()).workers(workers).seed(seed).dropLast(true);
        int queue = Math.min(cfg.queueSize(), data.size());
        try (DataLoader loader = new DataLoader(data, twoViews, loaderCfg);
             MemoryBank bank = MemoryBank.uniform(backend, queue, query.outputDim(), DType.F32, seed + 1);
             InfoNceLoss loss = new InfoNceLoss(backend, new InfoNceLoss.Config(cfg.tau(), LossPath.AUTO, false));
             Sgd sgd = new Sgd(backend, query.namedParameters(), Sgd.Options.compress());
             MomentumEncoder momentum = new MomentumEncoder(backend, query, key, cfg.momentum())) {
            LrSchedule schedule = LrSchedule.cosine(cfg.lr(), cfg.epochs(), 0);
            StepLog steps = new StepLog("moco", run, log, cfg.logEvery());
            int perEpoch = loader.batchesPerEpoch();
            steps.expect((long) perEpoch * cfg.epochs());
            query.train();
            key.train();
            for (int epoch = 0; epoch < cfg.epochs(); epoch++) {
                try (TrainingBatches.CloseableIterator it = TrainingBatches.epoch(backend, loader, epoch, steps)) {
                    int i = 0;
                    while (it.hasNext()) {
                        try (TrainingBatches.Step b = it.next()) {
                            double lr = schedule.lr(epoch + (double) i++ / perEpoch);
                            var qOut = query.forward(b.view(0));
                            momentum.update();
                            var kOut = key.forward(b.view(1));
                            InfoNceLoss.Result r = loss.compute(qOut, kOut, bank);
                            query.backward(r.gradQuery());
                            sgd.step((float) lr);
                            bank.enqueue(r.keysNormalized());
                            steps.step(epoch, b.size(), lr, () -> backend.toFloatArray(r.lossMean())[0]);
                        }
                    }
                }
            }
            steps.close();
        }
    }
}
