// A memory bank (queue) of K anchors of dimension D on one backend: a ring buffer written one batch at a time.
// CompRess's banks start as uniform random values in +-1/sqrt(D/3), not normalised, as the official CompRess code
// does; MoCo's queue starts as unit-length Gaussian anchors, as the official MoCo code does.
// The write pointer lives on the host, so enqueue() is one kernel launch and never synchronises.
package org.compress.engine.loss;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.compress.engine.backend.Backend;
import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public final class MemoryBank implements AutoCloseable {
    private final Backend backend;
    private final Tensor rows;
    private int pointer;

    private MemoryBank(Backend backend, Tensor rows) {
        this.backend = backend;
        this.rows = rows;
    }

    /** K x D bank in {@code dtype} (F32 or BF16), filled with U(-1/sqrt(D/3), 1/sqrt(D/3)) from {@code seed}. */
    public static MemoryBank uniform(Backend backend, int k, int d, DType dtype, long seed) {
        check(k, d, dtype);
        double stdv = 1.0 / Math.sqrt(d / 3.0);
        SplittableRandom random = new SplittableRandom(seed);
        float[] init = new float[k * d];
        for (int i = 0; i < init.length; i++) init[i] = (float) (random.nextDouble() * 2 * stdv - stdv);
        return of(backend, init, k, d, dtype);
    }

    /**
     * MoCo's queue: K anchors drawn from N(0, I_D) from {@code seed}, each scaled to unit length (moco/builder.py:
     * randn(dim, K) normalised along dim, one column per anchor).
     */
    public static MemoryBank unitGaussian(Backend backend, int k, int d, DType dtype, long seed) {
        check(k, d, dtype);
        SplittableRandom random = new SplittableRandom(seed);
        float[] init = new float[k * d];
        double[] row = new double[d];
        for (int r = 0; r < k; r++) {
            double sq = 0;
            for (int j = 0; j < d; j++) {
                row[j] = random.nextGaussian();
                sq += row[j] * row[j];
            }
            double scale = 1 / Math.max(Math.sqrt(sq), 1e-12); // F.normalize's eps
            for (int j = 0; j < d; j++) init[r * d + j] = (float) (row[j] * scale);
        }
        return of(backend, init, k, d, dtype);
    }

    private static void check(int k, int d, DType dtype) {
        Checks.positive("memory bank size K", k);
        Checks.positive("memory bank dimension D", d);
        if (dtype != DType.F32 && dtype != DType.BF16) {
            throw new IllegalArgumentException("memory bank dtype: expected F32 or BF16, found " + dtype);
        }
        if ((long) k * d > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("memory bank of " + k + " x " + d + " exceeds 2^31 elements");
        }
    }

    private static MemoryBank of(Backend backend, float[] init, int k, int d, DType dtype) {
        Tensor rows = backend.empty(dtype, k, d);
        try (Tensor host = Tensor.cpu(init, k, d); Tensor staged = backend.upload(host)) {
            backend.elementwise().cast(staged, rows);
        }
        return new MemoryBank(backend, rows);
    }

    /** The anchors, K x D. Read them before enqueue() for logits "before this batch is enqueued". */
    public Tensor rows() { return rows; }

    public int size() { return rows.dim(0); }

    public int dim() { return rows.dim(1); }

    public DType dtype() { return rows.dtype(); }

    /** Row the next enqueue writes first. */
    public int pointer() { return pointer; }

    /** Writes the B keys (F32, B x D) at the pointer, wrapping around, then advances the pointer by B. */
    public void enqueue(Tensor keys) {
        backend.memoryBank().enqueue(rows, keys, pointer);
        pointer = (pointer + keys.dim(0)) % size();
    }

    /** Contents and pointer as host tensors, for checkpoints ({@code rows}: K x D, {@code pointer}: I64[1]). */
    public Map<String, Tensor> state() {
        Map<String, Tensor> s = new LinkedHashMap<>();
        s.put("rows", backend.download(rows));
        Tensor p = Tensor.cpuZeros(DType.I64, 1);
        p.cpuStorage().i64()[0] = pointer;
        s.put("pointer", p);
        return s;
    }

    /** Restores what {@link #state()} saved; checks everything before changing anything. */
    public void restore(Map<String, Tensor> state) {
        Tensor saved = state.get("rows");
        Tensor p = state.get("pointer");
        if (saved == null || p == null) {
            throw new ShapeMismatchException("memory bank state: expected keys [rows, pointer], found " + state.keySet());
        }
        Checks.shape("memory bank rows", saved, size(), dim());
        Checks.dtype("memory bank rows", saved, dtype());
        Checks.dtype("memory bank pointer", p, DType.I64);
        long ptr = p.cpuStorage().i64()[(int) p.offset()];
        if (ptr < 0 || ptr >= size()) {
            throw new ShapeMismatchException("memory bank pointer: expected [0, " + size() + "), found " + ptr);
        }
        try (Tensor uploaded = backend.upload(saved)) {
            backend.elementwise().copy(uploaded, rows);
        }
        pointer = (int) ptr;
    }

    @Override public void close() { rows.close(); }

    @Override public String toString() {
        return "MemoryBank(K=" + size() + ", D=" + dim() + ", " + dtype() + ", pointer=" + pointer + ", on " + backend.device() + ")";
    }
}
