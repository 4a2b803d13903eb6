// MoCo v2 pretraining of a teacher: query encoder (trunk + MLP head) trained with InfoNCE against a queue of
// momentum-encoder keys; cosine learning rate per iteration, SGD momentum 0.9, weight decay 1e-4. The whole state
// is checkpointed every epoch (moco-epoch-E.safetensors), so an interrupted pretraining resumes where it stopped.
//   q = f_q(view1); k = f_k(view2) after the momentum update; loss = InfoNCE(q, k, queue); enqueue(k).
package org.compress.engine.train;

import java.nio.file.Path;
import java.util.Map;
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
        train(backend, query, key, data, twoViews, cfg, workers, seed, run, resumeFrom, stop, DistributedContext.single(backend));
    }

    /** As above on one process, from the start, never stopped from outside. */
    public static void train(Backend backend, Network query, Network key, Dataset data, Recipe twoViews, TrainConfig.Moco cfg,
                             int workers, long seed, RunDirectory run, DistributedContext dist) {
        train(backend, query, key, data, twoViews, cfg, workers, seed, run, null, new StopRequest(), dist);
    }

    /**
     * As above, data-parallel over {@code dist}'s ranks: cfg.batchSize() is the global batch, gradients are averaged, the
     * key encoder runs on a shuffled global batch (MoCo's shuffling BN) and the keys of the whole global batch are
     * enqueued on every rank; rank 0 writes the checkpoints, every rank resumes from them; a stop or a non-finite loss
     * on any rank stops every rank after the same step (DistSteps).
     */
    public static void train(Backend backend, Network query, Network key, Dataset data, Recipe twoViews, TrainConfig.Moco cfg,
                             int workers, long seed, RunDirectory run, Path resumeFrom, StopRequest stop, DistributedContext dist) {
        if (twoViews.views() != 2) throw new IllegalArgumentException("MoCo needs a two-view recipe, found " + twoViews.views());
        LoaderConfig loaderCfg = dist.shard(LoaderConfig.of(cfg.batchSize()).workers(workers).seed(seed).dropLast(true)); // dist: this rank's shard
        int queue = Math.min(cfg.queueSize(), data.size());
        try (DataLoader loader = new DataLoader(data, twoViews, loaderCfg);
             MemoryBank bank = newQueue(backend, queue, query.outputDim(), seed);
             InfoNceLoss loss = new InfoNceLoss(backend, new InfoNceLoss.Config(cfg.tau(), LossPath.AUTO, false));
             Sgd sgd = new Sgd(backend, query.namedParameters(), Sgd.Options.compress());
             GradientReducer gradients = dist.gradientReducer(query);    // dist: rank 0's weights, then bucketed all-reduce; no-op for one rank
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
            try (steps; NonFiniteGuard guard = DistSteps.guard(dist, backend, "moco", resumeFrom)) { // steps: closes the progress bar; dist: read at agreed points
                for (int epoch = at.epoch(); epoch < cfg.epochs(); epoch++) {
                    int i = epoch == at.epoch() ? at.batch() : 0;
                    try (TrainingBatches.CloseableIterator it = TrainingBatches.epoch(backend, loader, epoch, i, steps)) {
                        boolean stopping = false;
                        while (it.hasNext()) {
                            try (TrainingBatches.Step b = it.next()) {
                                double lr = schedule.lr(epoch + (double) i++ / perEpoch);
                                long shuffleSeed = seed ^ (0x9E3779B97F4A7C15L * (epoch * (long) perEpoch + i));
                                InfoNceLoss.Result r = step(query, key, momentum, loss, bank, sgd, b.view(0), b.view(1), lr, dist, gradients, shuffleSeed);
                                guard.observe(r.lossMean(), epoch, steps.steps() + 1);
                                stopping = DistSteps.stop(dist, stop, guard, epoch, steps.steps() + 1); // dist: agreed by all ranks
                                int e = epoch;
                                steps.step(epoch, b.size() * dist.worldSize(), lr, () -> { // a logged step reads the loss anyway: read the guard too
                                    guard.check(e, steps.steps());
                                    return dist.mean(backend.toFloatArray(r.lossMean())[0]);  // dist: the global batch's loss
                                });
                            }
                            if (stopping && i < perEpoch) {
                                Path file = DistSteps.checkpoint(dist, backend, run, "moco", epoch, i, state, guard); // dist: rank 0 writes
                                throw new TrainingInterruptedException(stop.reason(), run.root(), file);
                            }
                        }
                    }
                    dist.verifyIdentical("MoCo bank", bank.rows());                                // dist: replicas agree (no-op for one rank)
                    DistSteps.checkpoint(dist, backend, run, "moco", epoch, -1, state, guard);      // dist: rank 0 writes
                    if (DistSteps.stop(dist, stop, guard, epoch, steps.steps()) && epoch + 1 < cfg.epochs()) {
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
        return step(query, key, momentum, loss, bank, sgd, queryView, keyView, lr, null, null, 0);
    }

    /**
     * As above, data-parallel over {@code dist} (null: one process): the key encoder runs on a shuffled global batch
     * (MoCo's shuffling BN), the query's gradients are averaged over the ranks before the SGD step, and the keys of the
     * whole global batch are enqueued, so every rank's queue stays identical.
     */
    static InfoNceLoss.Result step(Network query, Network key, MomentumEncoder momentum, InfoNceLoss loss, MemoryBank bank, Sgd sgd,
                                   Tensor queryView, Tensor keyView, double lr, DistributedContext dist, GradientReducer gradients,
                                   long shuffleSeed) {
        Tensor qOut = query.forward(queryView);
        momentum.update();
        Tensor kOut = dist == null ? key.forward(keyView) : dist.shuffledKeys(keyView, key::forward, shuffleSeed); // dist: shuffling BN
        InfoNceLoss.Result r = loss.compute(qOut, kOut, bank);
        query.backward(r.gradQuery());
        if (gradients != null) gradients.finish();                                            // dist: mean over ranks
        sgd.step((float) lr);
        bank.enqueue(dist == null ? r.keysNormalized() : dist.gatherRows(r.keysNormalized())); // dist: the global batch's keys
        return r;
    }
}
