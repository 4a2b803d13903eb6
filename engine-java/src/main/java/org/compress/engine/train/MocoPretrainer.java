// MoCo v2 pretraining of a teacher: query encoder (trunk + MLP head) trained with InfoNCE against a queue of
// momentum-encoder keys; cosine learning rate per iteration, SGD momentum 0.9, weight decay 1e-4. The whole state
// is checkpointed every epoch (moco-epoch-E.safetensors), so an interrupted pretraining resumes where it stopped.
//   q = f_q(view1); k = f_k(view2) after the momentum update; loss = InfoNCE(q, k, queue); enqueue(k).
package org.compress.engine.train;

import java.nio.file.Path;
import java.util.Map;
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
import org.compress.engine.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public final class MocoPretrainer {
    private static final Logger log = LoggerFactory.getLogger(MocoPretrainer.class);

    private MocoPretrainer() {}

    /** Trains {@code query} in place; {@code key} must be a network of the same architecture (its momentum copy). */
    public static void train(Backend backend, Network query, Network key, Dataset data, Recipe twoViews, TrainConfig.Moco cfg,
                             int workers, long seed, RunDirectory run) {
        train(backend, query, key, data, twoViews, cfg, workers, seed, run, null, new StopRequest());
    }

    /**
     * As above, checkpointing the whole state after every epoch (checkpoints/moco-epoch-E.safetensors); resumeFrom (a
     * complete MoCo checkpoint, or null) continues from there with the same result as the uninterrupted run. Polls
     * {@code stop} after every step (then checkpoints moco-epoch-E-batch-B and throws TrainingInterruptedException);
     * NaN/Inf in the loss or the state stops the run (TrainingDivergedException), before any bad checkpoint is written.
     */
    public static void train(Backend backend, Network query, Network key, Dataset data, Recipe twoViews, TrainConfig.Moco cfg,
                             int workers, long seed, RunDirectory run, Path resumeFrom, StopRequest stop) {
        if (twoViews.views() != 2) throw new IllegalArgumentException("MoCo needs a two-view recipe, found " + twoViews.views());
        LoaderConfig loaderCfg = LoaderConfig.of(cfg.batchSize()).workers(workers).seed(seed).dropLast(true);
        int queue = Math.min(cfg.queueSize(), data.size());
        try (DataLoader loader = new DataLoader(data, twoViews, loaderCfg);
             MemoryBank bank = newQueue(backend, queue, query.outputDim(), seed);
             InfoNceLoss loss = new InfoNceLoss(backend, new InfoNceLoss.Config(cfg.tau(), LossPath.AUTO, false));
             Sgd sgd = new Sgd(backend, query.namedParameters(), Sgd.Options.compress());
             MomentumEncoder momentum = new MomentumEncoder(backend, query, key, cfg.momentum())) {
            LrSchedule schedule = schedule(cfg);
            int perEpoch = loader.batchesPerEpoch();
            TrainerCheckpoint.State state = new TrainerCheckpoint.State(Map.of("query.", query, "key.", key), sgd, Map.of("bank.", bank));
            TrainerCheckpoint.Position at = new TrainerCheckpoint.Position(0, 0, 0);
            if (resumeFrom != null) {
                at = TrainerCheckpoint.restore(resumeFrom, state);
                log.info("resumed MoCo from {} at epoch {}, batch {} (step {})", resumeFrom, at.epoch(), at.batch(), at.step());
            }
            StepLog steps = new StepLog("moco", run, log, cfg.logEvery(), at.step());
            steps.expect((long) perEpoch * (cfg.epochs() - at.epoch()) - at.batch());
            query.train();
            key.train();
            try (steps; NonFiniteGuard guard = new NonFiniteGuard(backend, "moco", resumeFrom)) { // steps: closes the progress bar
                for (int epoch = at.epoch(); epoch < cfg.epochs(); epoch++) {
                    int i = epoch == at.epoch() ? at.batch() : 0;
                    try (TrainingBatches.CloseableIterator it = TrainingBatches.epoch(backend, loader, epoch, i, steps)) {
                        while (it.hasNext()) {
                            try (TrainingBatches.Step b = it.next()) {
                                double lr = schedule.lr(epoch + (double) i++ / perEpoch);
                                InfoNceLoss.Result r = step(query, key, momentum, loss, bank, sgd, b.view(0), b.view(1), lr);
                                guard.observe(r.lossMean(), epoch, steps.steps() + 1);
                                int e = epoch;
                                steps.step(epoch, b.size(), lr, () -> { // a logged step reads the loss anyway: read the guard too
                                    guard.check(e, steps.steps());
                                    return backend.toFloatArray(r.lossMean())[0];
                                });
                            }
                            if (stop.requested() && i < perEpoch) {
                                Path file = TrainerCheckpoint.save(backend, run, "moco", epoch, i, state, guard);
                                throw new TrainingInterruptedException(stop.reason(), run.root(), file);
                            }
                        }
                    }
                    TrainerCheckpoint.save(backend, run, "moco", epoch, -1, state, guard);
                    if (stop.requested() && epoch + 1 < cfg.epochs()) {
                        throw new TrainingInterruptedException(stop.reason(), run.root(), guard.lastGood());
                    }
                }
            }
        }
    }

    /**
     * The cosine schedule the loop reads per iteration, at epoch + iteration / iterationsPerEpoch. Official MoCo
     * (main_moco.py adjust_learning_rate) sets the same cosine once per epoch; the parity fixture follows ours
     * (scripts/training_parity_torch.py --moco-lr-per-epoch runs the official one).
     */
    static LrSchedule schedule(TrainConfig.Moco cfg) { return LrSchedule.cosine(cfg.lr(), cfg.epochs(), 0); }

    /**
     * The queue before the first step, K x D (F32): unit-length Gaussian anchors as MoCo's builder makes them (not
     * CompRess's uniform bank: MoCo's first K / batch steps see these as negatives, at MoCo's scale).
     */
    static MemoryBank newQueue(Backend backend, int k, int d, long seed) { return MemoryBank.unitGaussian(backend, k, d, DType.F32, seed + 1); }

    /**
     * One MoCo v2 step, the loop body (the training-parity test drives it on fixed batches): the momentum update comes
     * after the query forward and before the keys, the logits are taken against the queue before this batch's keys are
     * enqueued, and the SGD step uses the gradient of the query only. The result's views are valid until the next call.
     */
    static InfoNceLoss.Result step(Network query, Network key, MomentumEncoder momentum, InfoNceLoss loss, MemoryBank bank, Sgd sgd,
                                   Tensor queryView, Tensor keyView, double lr) {
        Tensor qOut = query.forward(queryView);
        momentum.update();
        Tensor kOut = key.forward(keyView);
        InfoNceLoss.Result r = loss.compute(qOut, kOut, bank);
        query.backward(r.gradQuery());
        sgd.step((float) lr);
        bank.enqueue(r.keysNormalized());
        return r;
    }
}
