// The sample order of one epoch on one rank: a permutation of [0, n) from (seed, epoch), identical on every
// rank, made equal-length across ranks (pad by wrapping, or trim), then every worldSize-th entry from rank.
package org.compress.engine.data.loader;

import java.util.SplittableRandom;
import org.compress.engine.data.transforms.Rng;

public final class EpochOrder {
    private EpochOrder() {}

    public static int[] indices(int n, long seed, int epoch, boolean shuffle, int rank, int worldSize, boolean dropLast) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        if (shuffle) {
            SplittableRandom rng = new SplittableRandom(Rng.mix(Rng.mix(seed) ^ (0x9E3779B97F4A7C15L * (epoch + 1L))));
            for (int i = n - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        int perRank = dropLast ? n / worldSize : (n + worldSize - 1) / worldSize;
        int[] shard = new int[perRank];
        for (int k = 0; k < perRank; k++) {
            int pos = rank + k * worldSize;
            shard[k] = order[n == 0 ? 0 : pos % n];   // positions past n wrap to the head (padding)
        }
        return shard;
    }
}
