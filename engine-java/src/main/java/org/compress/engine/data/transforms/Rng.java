// Seeded randomness for the samplers: one SplittableRandom per (seed, epoch, sample), so a sample's
// parameters do not depend on which worker drew it or in which order. torch's uniform_(a, b) is a + (b-a)u.
package org.compress.engine.data.transforms;

import java.util.SplittableRandom;

public final class Rng {
    private Rng() {}

    public static double uniform(SplittableRandom rng, double lo, double hi) {
        return lo + (hi - lo) * rng.nextDouble();
    }

    /** torch.rand(1) < p. */
    public static boolean bernoulli(SplittableRandom rng, double p) {
        return rng.nextDouble() < p;
    }

    /** A uniformly random permutation of 0..n-1 (torch.randperm). */
    public static int[] permutation(SplittableRandom rng, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /** splitmix64 finaliser: decorrelates nearby keys. */
    public static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** The generator for one sample of one epoch. */
    public static SplittableRandom forSample(long seed, int epoch, int index) {
        return new SplittableRandom(mix(mix(mix(seed) + epoch) + index));
    }
}
