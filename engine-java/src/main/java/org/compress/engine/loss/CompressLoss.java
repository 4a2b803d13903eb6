// The CompRess loss for a training step: L2-normalises teacher and student embeddings, computes
// mean_i KL(pt_i || ps_i) against the memory banks as they are BEFORE this batch is enqueued, and returns the
// gradient w.r.t. the raw (pre-normalisation) student embedding. 2q: student bank separate (filled by the
// momentum encoder, or by the student itself "without momentum"); 1q: the student, already projected to the
// teacher's dimension, is scored against the teacher bank. Buffers are allocated once per batch size.
package org.compress.engine.loss;

import org.compress.engine.backend.Backend;
import org.compress.engine.backend.Workspace;
import org.compress.engine.ops.LossPath;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

public final class CompressLoss implements AutoCloseable {
    /** tau: the temperature of both softmaxes (official default 0.04); checkFinite: reject NaN/Inf inputs (syncs). */
    public record Config(float tau, LossPath path, boolean checkFinite) {
        public Config {
            if (!(tau > 0) || !Float.isFinite(tau)) {
                throw new IllegalArgumentException("temperature must be finite and > 0, found " + tau);
            }
        }

        public static Config defaults() { return new Config(0.04f, LossPath.AUTO, true); }
    }

    /** Views into the loss's buffers, valid until the next call. Normalised embeddings are what to enqueue. */
    public record Result(Tensor lossMean, Tensor lossPerQuery, Tensor gradStudent, Tensor teacherNormalized,
                         Tensor studentNormalized) {}

    private final Backend backend;
    private final Config config;
    private Buffers buffers;
    private Tensor[] keyBuffers;

    public CompressLoss(Backend backend, Config config) {
        this.backend = backend;
        this.config = config;
    }

    public Config config() { return config; }

    /**
     * One step. teacher: B x Dt raw embeddings; student: B x Ds raw embeddings (1q: B x Dt after the projection);
     * studentBank null means 1q (score against the teacher bank).
     */
    public Result compute(Tensor teacher, Tensor student, MemoryBank teacherBank, MemoryBank studentBank) {
        MemoryBank sBank = studentBank == null ? teacherBank : studentBank;
        if (config.checkFinite()) {
            requireFinite("teacher embeddings", teacher);
            requireFinite("student embeddings", student);
        }
        int b = teacher.dim(0);
        Buffers buf = buffers(b, teacher.dim(1), student.dim(1), teacherBank, sBank);
        backend.normalize().forward(teacher, buf.teacherNorm, buf.teacherNorms);
        backend.normalize().forward(student, buf.studentNorm, buf.studentNorms);
        backend.compressLoss().forwardBackward(buf.teacherNorm, buf.studentNorm, teacherBank.rows(), sBank.rows(), config.tau(),
                buf.lossPerQuery, buf.lossMean, buf.gradNormalized, buf.workspace, config.path());
        backend.normalize().backward(buf.studentNorm, buf.studentNorms, buf.gradNormalized, buf.gradStudent);
        return new Result(buf.lossMean, buf.lossPerQuery, buf.gradStudent, buf.teacherNorm, buf.studentNorm);
    }

    /**
     * L2-normalises momentum-encoder keys (B x Ds) for the student bank, into a buffer of this loss (valid until
     * the next call), so a training step allocates nothing for them.
     */
    public Tensor normalize(Tensor keys) {
        if (keyBuffers == null || !keyBuffers[0].sameShape(keys)) {
            if (keyBuffers != null) for (Tensor t : keyBuffers) t.close();
            keyBuffers = new Tensor[] {backend.empty(DType.F32, keys.shape()), backend.empty(DType.F32, keys.dim(0))};
        }
        backend.normalize().forward(keys, keyBuffers[0], keyBuffers[1]);
        return keyBuffers[0];
    }

    private void requireFinite(String what, Tensor t) {
        long bad = backend.elementwise().countNonFinite(t);
        if (bad > 0) {
            throw new NonFiniteInputException("compress loss: " + what + " " + t + " hold " + bad
                    + " NaN/Inf values (switch the check off with checkFinite=false for speed)");
        }
    }

    private Buffers buffers(int b, int dt, int ds, MemoryBank tBank, MemoryBank sBank) {
        long ws = backend.compressLoss().workspaceBytes(b, tBank.size(), dt, ds, tBank.dtype(), config.path());
        if (buffers == null || !buffers.fits(b, dt, ds, ws)) {
            if (buffers != null) buffers.close();
            buffers = new Buffers(backend, b, dt, ds, ws);
        }
        return buffers;
    }

    @Override public void close() {
        if (buffers != null) buffers.close();
        buffers = null;
        if (keyBuffers != null) for (Tensor t : keyBuffers) t.close();
        keyBuffers = null;
    }

    private static final class Buffers implements AutoCloseable {
        final int b, dt, ds;
        final Tensor teacherNorm, teacherNorms, studentNorm, studentNorms, lossPerQuery, lossMean, gradNormalized, gradStudent;
        final Tensor workspace;

        Buffers(Backend backend, int b, int dt, int ds, long workspaceBytes) {
            this.b = b;
            this.dt = dt;
            this.ds = ds;
            teacherNorm = backend.empty(DType.F32, b, dt);
            teacherNorms = backend.empty(DType.F32, b);
            studentNorm = backend.empty(DType.F32, b, ds);
            studentNorms = backend.empty(DType.F32, b);
            lossPerQuery = backend.empty(DType.F32, b);
            lossMean = backend.empty(DType.F32, 1);
            gradNormalized = backend.empty(DType.F32, b, ds);
            gradStudent = backend.empty(DType.F32, b, ds);
            workspace = workspaceBytes > 0 ? Workspace.allocate(backend, workspaceBytes) : null;
        }

        boolean fits(int b, int dt, int ds, long ws) {
            return this.b == b && this.dt == dt && this.ds == ds && (ws == 0 || (workspace != null && workspace.bytes() >= ws));
        }

        @Override public void close() {
            for (Tensor t : new Tensor[] {teacherNorm, teacherNorms, studentNorm, studentNorms, lossPerQuery, lossMean,
                    gradNormalized, gradStudent, workspace}) {
                if (t != null) t.close();
            }
        }
    }
}
