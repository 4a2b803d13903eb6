// Deterministic test data: seeded uniform fills and small integers (exact in fp32 sums, so GPU results compare bitwise).
package org.compress.engine.testing;

import java.util.SplittableRandom;

public final class Fills {
    private Fills() {}

    public static float[] uniform(long seed, int n, float lo, float hi) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (lo + (hi - lo) * r.nextDouble());
        return a;
    }

    public static float[] smallIntegers(long seed, int n, int lo, int hi) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = r.nextInt(lo, hi + 1);
        return a;
    }
}
