// Batch normalisation over (N, H, W) per channel (torch.nn.BatchNorm2d, momentum 0.1, eps 1e-5, affine,
// track_running_stats). input/output: (N, C, H, W). Parameters weight (ones) and bias (zeros), excluded from
// weight decay; buffers running_mean (zeros), running_var (ones, updated with the unbiased batch variance)
// and num_batches_tracked (0-d I64, incremented per training forward). Training mode normalises with the
// batch statistics; eval mode with the running ones. backward() needs a training-mode forward.
package org.compress.engine.nn;

import org.compress.engine.backend.Backend;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;

public final class BatchNorm2d extends Module {
    public static final float MOMENTUM = 0.1f;
    public static final float EPS = 1e-5f;

    private final Parameter weight;
    private final Parameter bias;
    private final Tensor runningMean;
    private final Tensor runningVar;
    private final Tensor numBatchesTracked;
    private Tensor input;
    private boolean lastForwardTrained;
    private org.compress.engine.ops.BatchNormOp op;   // null: the backend's; dist/SyncBatchNorm for synchronised BN

    public BatchNorm2d(Backend backend, int channels) {
        super(backend);
        weight = addParameter("weight", Init.constant(backend, 1f, channels), false);
        bias = addParameter("bias", Init.constant(backend, 0f, channels), false);
        runningMean = addBuffer("running_mean", Init.constant(backend, 0f, channels));
        runningVar = addBuffer("running_var", Init.constant(backend, 1f, channels));
        numBatchesTracked = addBuffer("num_batches_tracked", backend.zeros(DType.I64));
    }

    public Parameter weight() { return weight; }

    public Parameter bias() { return bias; }

    public Tensor runningMean() { return runningMean; }

    public Tensor runningVar() { return runningVar; }

    public Tensor numBatchesTracked() { return numBatchesTracked; }

    /** Replaces the backend's batch-norm op (null restores it): data-parallel training's synchronised BN. */
    public void setOp(org.compress.engine.ops.BatchNormOp op) { this.op = op; }

    private org.compress.engine.ops.BatchNormOp op() { return op != null ? op : backend.batchNorm(); }

    @Override public Tensor forward(Tensor x) {
        Tensor y = buffer("y", x.dtype(), x.format(), x.shape());
        if (isTraining()) {
            int c = x.dim(1);
            Tensor mean = buffer("saveMean", MemoryFormat.CONTIGUOUS, c), invStd = buffer("saveInvStd", MemoryFormat.CONTIGUOUS, c);
            op().forwardTraining(x, weight.value(), bias.value(), runningMean, runningVar, MOMENTUM, EPS, y, mean, invStd);
            op().countBatch(numBatchesTracked);
        } else {
            op().forwardInference(x, weight.value(), bias.value(), runningMean, runningVar, EPS, y);
        }
        input = x;
        lastForwardTrained = isTraining();
        return y;
    }

    @Override public Tensor backward(Tensor dy) {
        if (!lastForwardTrained) {
            throw new IllegalStateException("BatchNorm2d.backward needs a training-mode forward (eval-mode backward is not supported)");
        }
        int c = input.dim(1);
        Tensor dx = buffer("dx", input.dtype(), input.format(), input.shape());
        op().backward(input, dy, weight.value(), buffer("saveMean", MemoryFormat.CONTIGUOUS, c),
                buffer("saveInvStd", MemoryFormat.CONTIGUOUS, c), EPS, dx, weight.grad(), bias.grad());
        return dx;
    }
}
