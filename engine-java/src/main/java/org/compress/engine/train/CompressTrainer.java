// CompRess distillation (the paper's Algorithm 1). Per batch, teacher and student see the same view:
//   t = teacher(x) (frozen, eval mode);  s = student(x);  2q: EMA update, then k = momentum_student(x)
//   loss = mean_i KL(softmax(t_i Qt / tau) || softmax(s_i Qs / tau)) against the banks before this batch
//   backward through the student, SGD step; then enqueue t into Qt and k (2q), s (2q without momentum) into Qs.
// 1q: the student has a linear head to the teacher's dimension and is scored against Qt; there is no Qs.
// Cached teacher: t is looked up by image index from embeddings computed once (TeacherCache); a cache of V
// augmented views makes epoch e draw the loader's augmentation of epoch e mod V, the view that was cached.
package org.compress.engine.train;

import java.nio.file.Path;
import org.compress.engine.backend.Backend;
import org.compress.engine.data.datasets.Dataset;
import org.compress.engine.dist.DistributedContext;
import org.compress.engine.dist.GradientReducer;
import org.compress.engine.data.loader.DataLoader;
import org.compress.engine.data.loader.LoaderConfig;
import org.compress.engine.data.transforms.Recipe;
import org.compress.engine.loss.CompressLoss;
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

public final class CompressTrainer {
    private static final Logger log = LoggerFactory.getLogger(CompressTrainer.class);

    public enum Method {
        TWO_QUEUES("2q"), TWO_QUEUES_NO_MOMENTUM("2q-nomomentum"), ONE_QUEUE("1q");

        private final String id;

        Method(String id) { this.id = id; }

        public static Method parse(String s) {
            for (Method m : values()) if (m.id.equals(s)) return m;
            throw new IllegalArgumentException("CompRess method: expected 2q, 2q-nomomentum or 1q, found '" + s + "'");
        }
    }

    private CompressTrainer() {}

    /** "multistep:E1,E2,..." (x0.2 at each epoch, the official CompRess schedule) or "cosine" (per iteration). */
    static LrSchedule schedule(TrainConfig.Compress cfg) {
        String s = cfg.lrSchedule();
        if (s.equals("cosine")) return LrSchedule.cosine(cfg.lr(), cfg.epochs(), 0);
        if (s.startsWith("multistep:")) {
            try {
                int[] milestones = java.util.Arrays.stream(s.substring("multistep:".length()).split(",")).map(String::trim)
                        .mapToInt(Integer::parseInt).toArray();
                LrSchedule steps = LrSchedule.multiStep(cfg.lr(), 0.2, milestones);
                return e -> steps.lr(Math.floor(e)); // the official code changes the rate once per epoch
            } catch (NumberFormatException ignored) {
                // reported below
            }
        }
        throw new IllegalArgumentException("learning-rate schedule: expected cosine or multistep:E1,E2,..., found '" + s + "'");
    }

    /**
     * Trains {@code student} in place. keyStudent: the momentum copy for 2q (null otherwise). The student's output
     * is its embedding (2q) or its projection to the teacher's dimension (1q).
     */
    public static void train(Backend backend, Network teacher, Network student, Network keyStudent, Dataset data, Recipe view,
                             TrainConfig.Compress cfg, int workers, long seed, RunDirectory run) {
        train(backend, teacher, null, student, keyStudent, data, view, cfg, workers, seed, run, null);
    }

    /**
     * As above; with a {@code cache}, teacher embeddings are looked up by image index instead of computed. After each
     * epoch the whole training state is checkpointed; {@code resumeFrom} (a complete epoch checkpoint, or null)
     * continues a run from there, giving the same result as the uninterrupted run.
     */
    public static void train(Backend backend, Network teacher, TeacherCache cache, Network student, Network keyStudent, Dataset data,
                             Recipe view, TrainConfig.Compress cfg, int workers, long seed, RunDirectory run, java.nio.file.Path resumeFrom) {
        train(backend, teacher, cache, student, keyStudent, data, view, cfg, workers, seed, run, resumeFrom, new StopRequest());
    }

    /**
     * As above, polling {@code stop} after every step: when it is set, the state after that step is checkpointed
     * (compress-epoch-E-batch-B.safetensors) and TrainingInterruptedException is thrown. The loss is checked for
     * NaN/Inf every step (NonFiniteGuard) and the whole state before every checkpoint (TrainingDivergedException).
     */
    public static void train(Backend backend, Network teacher, TeacherCache cache, Network student, Network keyStudent, Dataset data,
                             Recipe view, TrainConfig.Compress cfg, int workers, long seed, RunDirectory run, java.nio.file.Path resumeFrom,
                             StopRequest stop) {
        train(backend, teacher, cache, student, keyStudent, data, view, cfg, workers, seed, run, resumeFrom, stop, DistributedContext.single(backend));
    }

    /** As above on one process: never stopped from outside. */
    public static void train(Backend backend, Network teacher, TeacherCache cache, Network student, Network keyStudent, Dataset data,
                             Recipe view, TrainConfig.Compress cfg, int workers, long seed, RunDirectory run, java.nio.file.Path resumeFrom,
                             DistributedContext dist) {
        train(backend, teacher, cache, student, keyStudent, data, view, cfg, workers, seed, run, resumeFrom, new StopRequest(), dist);
    }

    /**
     * As above, data-parallel over {@code dist}'s ranks (DistributedDataParallel semantics): cfg.batchSize() is the global
     * batch and each rank takes its shard; student gradients are averaged across ranks; the teacher embeddings and keys
     * of the whole global batch are gathered before the enqueue, so every rank holds the same banks; rank 0 alone
     * writes checkpoints, every rank resumes from them. A stop requested on any rank, or a non-finite loss on any rank,
     * stops every rank after the same step (DistSteps). World size 1 is the single-process trainer.
     */
    public static void train(Backend backend, Network teacher, TeacherCache cache, Network student, Network keyStudent, Dataset data,
                             Recipe view, TrainConfig.Compress cfg, int workers, long seed, RunDirectory run, java.nio.file.Path resumeFrom,
                             StopRequest stop, DistributedContext dist) {
        Method method = Method.parse(cfg.method());
        if ((method == Method.TWO_QUEUES) != (keyStudent != null)) {
            throw new IllegalArgumentException("CompRess " + cfg.method() + ": a momentum student is needed exactly for 2q");
        }
        if (teacher == null && cache == null) throw new IllegalArgumentException("CompRess: a teacher network or a teacher cache is needed");
        int dt = cache != null ? cache.dim() : teacher.embeddingDim(), ds = student.outputDim();
        if (method == Method.ONE_QUEUE && ds != dt) {
            throw new IllegalArgumentException("CompRess 1q: the student must project to the teacher's " + dt + "-d, it outputs " + ds + "-d");
        }
        if (cfg.epochs() < 1) {
            log.info("CompRess: 0 epochs, the student keeps its initial weights");
            return;
        }
        DType bankType = DType.valueOf(cfg.bankDtype());
        int queue = Math.min(cfg.queueSize(), data.size());
        // drop_last: the official train_student.py keeps the last partial batch; one batch shape keeps every buffer static
        LoaderConfig loaderCfg = dist.shard(LoaderConfig.of(cfg.batchSize()).workers(workers).seed(seed).dropLast(true)); // dist: this rank's shard
        if (teacher != null) teacher.eval();
        student.train();
        if (keyStudent != null) keyStudent.train();
        try (DataLoader loader = new DataLoader(data, view, loaderCfg);
             MemoryBank teacherBank = newTeacherBank(backend, queue, dt, bankType, seed);
             MemoryBank studentBank = method == Method.ONE_QUEUE ? null : newStudentBank(backend, queue, ds, bankType, seed);
             CompressLoss loss = new CompressLoss(backend, new CompressLoss.Config(cfg.tau(), LossPath.valueOf(cfg.lossPath()), cfg.checkFinite()));
             Sgd sgd = new Sgd(backend, student.namedParameters(), Sgd.Options.compress());
             GradientReducer gradients = dist.gradientReducer(student);    // dist: rank 0's weights, then bucketed all-reduce; no-op for one rank
             MomentumEncoder momentum = keyStudent == null ? null : new MomentumEncoder(backend, student, keyStudent, cfg.momentum())) {
            LrSchedule schedule = schedule(cfg);
            String stage = "compress-" + cfg.method();
            int perEpoch = loader.batchesPerEpoch();
            TrainerCheckpoint.State state = TrainerCheckpoint.compress(student, keyStudent, sgd, teacherBank, studentBank);
            TrainerCheckpoint.Position at = new TrainerCheckpoint.Position(0, 0, 0);
            if (resumeFrom != null) {
                at = TrainerCheckpoint.restore(resumeFrom, state);
                log.info("resumed from {} at epoch {}, batch {} (step {})", resumeFrom, at.epoch(), at.batch(), at.step());
            }
            StepLog steps = new StepLog(stage, run, log, cfg.logEvery(), at.step());
            steps.expect((long) perEpoch * (cfg.epochs() - at.epoch()) - at.batch());
            try (steps; NonFiniteGuard guard = DistSteps.guard(dist, backend, stage, resumeFrom)) { // steps: closes the progress bar; dist: read at agreed points
                for (int epoch = at.epoch(); epoch < cfg.epochs(); epoch++) {
                    int i = epoch == at.epoch() ? at.batch() : 0;
                    try (TrainingBatches.CloseableIterator it = TrainingBatches.epoch(backend, loader,
                            cache != null ? cache.loaderEpoch(epoch) : epoch, i, steps)) {
                        boolean stopping = false;
                        while (it.hasNext()) {
                            try (TrainingBatches.Step b = it.next()) {
                                double lr = schedule.lr(epoch + (double) i++ / perEpoch);
                                CompressLoss.Result r = step(method, teacher, cache, student, keyStudent, momentum, loss, teacherBank, studentBank,
                                        sgd, b.view(0), epoch, b.indices(), lr, dist, gradients);
                                guard.observe(r.lossMean(), epoch, steps.steps() + 1);
                                stopping = DistSteps.stop(dist, stop, guard, epoch, steps.steps() + 1); // dist: agreed by all ranks
                                int e = epoch;
                                steps.step(epoch, b.size() * dist.worldSize(), lr, () -> { // a logged step reads the loss anyway: read the guard too
                                    guard.check(e, steps.steps());
                                    return dist.mean(backend.toFloatArray(r.lossMean())[0]);  // dist: the global batch's loss
                                });
                            }
                            if (stopping && i < perEpoch) {
                                Path file = DistSteps.checkpoint(dist, backend, run, "compress", epoch, i, state, guard); // dist: rank 0 writes
                                throw new TrainingInterruptedException(stop.reason(), run.root(), file);
                            }
                        }
                    }
                    dist.verifyIdentical("teacher bank", teacherBank.rows());                       // dist: replicas agree (no-op for one rank)
                    if (studentBank != null) dist.verifyIdentical("student bank", studentBank.rows());
                    DistSteps.checkpoint(dist, backend, run, "compress", epoch, -1, state, guard);   // dist: rank 0 writes
                    if (DistSteps.stop(dist, stop, guard, epoch, steps.steps()) && epoch + 1 < cfg.epochs()) {
                        throw new TrainingInterruptedException(stop.reason(), run.root(), guard.lastGood());
                    }
                }
            }
        }
    }

    /** The teacher's bank before the first step (the student's comes from newStudentBank; 1q has none). */
    static MemoryBank newTeacherBank(Backend backend, int k, int d, DType dtype, long seed) {
        return MemoryBank.uniform(backend, k, d, dtype, seed + 11);
    }

    static MemoryBank newStudentBank(Backend backend, int k, int d, DType dtype, long seed) {
        return MemoryBank.uniform(backend, k, d, dtype, seed + 12);
    }

    /**
     * One CompRess step, the loop body (the training-parity test drives it on fixed batches). x: the batch's view,
     * shared by teacher and student; the teacher embedding is looked up by {@code indices} when there is a cache.
     * 2q: the momentum update comes before the keys, so the keys of step n come from the EMA that includes the student
     * after step n - 1, as in the official train_student.py, which updates after each SGD step (its update after the
     * last step is our first act of the next one). Logits are taken against both banks before anything is enqueued.
     * The result's views are valid until the next call.
     */
    static CompressLoss.Result step(Method method, Network teacher, TeacherCache cache, Network student, Network keyStudent,
                                    MomentumEncoder momentum, CompressLoss loss, MemoryBank teacherBank, MemoryBank studentBank, Sgd sgd,
                                    Tensor x, int epoch, int[] indices, double lr) {
        return step(method, teacher, cache, student, keyStudent, momentum, loss, teacherBank, studentBank, sgd, x, epoch, indices, lr,
                null, null);
    }

    /**
     * As above, data-parallel over {@code dist} (null: one process): the student's gradients are averaged over the
     * ranks before the SGD step, and the rows of the whole global batch are enqueued, so every rank's banks stay
     * identical (the loss uses this rank's queries against the full banks).
     */
    static CompressLoss.Result step(Method method, Network teacher, TeacherCache cache, Network student, Network keyStudent,
                                    MomentumEncoder momentum, CompressLoss loss, MemoryBank teacherBank, MemoryBank studentBank, Sgd sgd,
                                    Tensor x, int epoch, int[] indices, double lr, DistributedContext dist, GradientReducer gradients) {
        Tensor t = cache != null ? cache.lookup(epoch, indices) : teacher.embed(x); // epoch: which cached view (cache-teacher --views)
        Tensor s = student.forward(x);
        Tensor keys = null;
        if (method == Method.TWO_QUEUES) {
            momentum.update();
            keys = keyStudent.forward(x);
        }
        CompressLoss.Result r = loss.compute(t, s, teacherBank, studentBank);
        student.backward(r.gradStudent());
        if (gradients != null) gradients.finish();                                   // dist: mean over ranks
        sgd.step((float) lr);
        teacherBank.enqueue(rows(dist, r.teacherNormalized()));                       // dist: the global batch's rows
        if (method == Method.TWO_QUEUES) studentBank.enqueue(rows(dist, loss.normalize(keys)));
        else if (method == Method.TWO_QUEUES_NO_MOMENTUM) studentBank.enqueue(rows(dist, r.studentNormalized()));
        return r;
    }

    private static Tensor rows(DistributedContext dist, Tensor local) { return dist == null ? local : dist.gatherRows(local); }
}
