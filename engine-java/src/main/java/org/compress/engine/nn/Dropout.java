// Inverted dropout (torch.nn.Dropout): in training, zeroes each element with probability p and scales the
// rest by 1/(1-p); in eval, the identity (returns its input). input/output: any shape. Masks come from a
// counter-based generator: seed and call count fix them, identically on the CPU and the GPU.
package org.compress.engine.nn;

import org.compress.engine.backend.Backend;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;

public final class Dropout extends Module {
    private final float p;
    private final long seed;
    private long calls;
    private Tensor mask;
    private boolean applied;

    public Dropout(Backend backend, float p, long seed) {
        super(backend);
        if (!(p >= 0f && p < 1f)) throw new IllegalArgumentException("Dropout: expected 0 <= p < 1, found " + p);
        this.p = p;
        this.seed = seed;
    }

    /** The seed of call k: a full 64-bit mix, so the streams of successive calls do not overlap. */
    static long callSeed(long seed, long call) {
        long z = seed + call * 0xD1B54A32D192ED03L;
        z = (z ^ (z >>> 33)) * 0xFF51AFD7ED558CCDL;
        z = (z ^ (z >>> 33)) * 0xC4CEB9FE1A85EC53L;
        return z ^ (z >>> 33);
    }

    @Override public Tensor forward(Tensor x) {
        applied = isTraining() && p > 0f;
        if (!applied) return x;
        Tensor y = buffer("y", x.format(), x.shape());
        mask = buffer("mask", DType.U8, MemoryFormat.CONTIGUOUS, (int) x.numel());
        backend.dropout().forward(x, y, mask, p, callSeed(seed, calls++));
        return y;
    }

    @Override public Tensor backward(Tensor dy) {
        if (!applied) return dy;
        Tensor dx = buffer("dx", dy.format(), dy.shape());
        backend.dropout().backward(dy, mask, dx, p);
        return dx;
    }
}
