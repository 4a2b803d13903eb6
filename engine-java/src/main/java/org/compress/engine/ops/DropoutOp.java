// Inverted dropout with a counter-based mask: element i is kept when u(seed, i) >= p, where u is the top
// 24 bits of splitmix64(seed + (i + 1) * golden) / 2^24, so the CPU and every GPU draw the same mask for
// the same seed. y = x * keep / (1 - p); dx = dy * keep / (1 - p). mask: U8 (1 = kept), same element count.
package org.compress.engine.ops;

import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public interface DropoutOp {
    long GOLDEN = 0x9E3779B97F4A7C15L;

    void forward(Tensor x, Tensor y, Tensor mask, float p, long seed);

    void backward(Tensor dy, Tensor mask, Tensor dx, float p);

    /** The uniform draw in [0, 1) for element i: the definition both backends implement. */
    static float uniform(long seed, long i) {
        long z = seed + (i + 1) * GOLDEN;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return (z >>> 40) * 0x1p-24f;
    }

    static void check(Tensor x, Tensor y, Tensor mask, float p) {
        Checks.dtype("dropout x", x, DType.F32);
        Checks.dtype("dropout y", y, DType.F32);
        Checks.sameShape("dropout y vs x", y, x);
        Checks.dtype("dropout mask", mask, DType.U8);
        if (mask.numel() != x.numel()) throw new ShapeMismatchException("dropout: mask " + mask + " does not match " + x);
        if (!(p >= 0f && p < 1f)) throw new IllegalArgumentException("dropout: expected 0 <= p < 1, found " + p);
    }
}
