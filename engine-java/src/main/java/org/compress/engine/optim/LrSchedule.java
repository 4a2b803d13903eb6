// Learning-rate schedules as functions of the (possibly fractional) epoch: pass an integer epoch to step once
// per epoch (CompRess, MoCo), or epoch + iteration / iterationsPerEpoch to change every iteration.
package org.compress.engine.optim;

import java.util.Arrays;

@FunctionalInterface
public interface LrSchedule {
    double lr(double epoch);

    static LrSchedule constant(double base) { return e -> base; }

    /** base * gamma^(number of milestones <= epoch); CompRess: multiStep(base, 0.2, 90, 120). */
    static LrSchedule multiStep(double base, double gamma, int... milestones) {
        int[] m = milestones.clone();
        Arrays.sort(m);
        return e -> {
            int passed = 0;
            for (int x : m) if (e >= x) passed++;
            return base * Math.pow(gamma, passed);
        };
    }

    /** MoCo v2's cosine: base * 0.5 * (1 + cos(pi * epoch / totalEpochs)), never below minLr. */
    static LrSchedule cosine(double base, double totalEpochs, double minLr) {
        if (totalEpochs <= 0) throw new IllegalArgumentException("cosine: expected totalEpochs > 0, found " + totalEpochs);
        return e -> Math.max(minLr, base * 0.5 * (1 + Math.cos(Math.PI * Math.min(e, totalEpochs) / totalEpochs)));
    }

    /**
     * Linear warm-up in front of this schedule: during the first warmupEpochs the rate is scaled by a factor
     * rising linearly from startFactor (at epoch 0) to 1 (at warmupEpochs); afterwards it is unchanged.
     */
    default LrSchedule withWarmup(double warmupEpochs, double startFactor) {
        if (warmupEpochs <= 0) return this;
        LrSchedule inner = this;
        return e -> e >= warmupEpochs ? inner.lr(e) : inner.lr(e) * (startFactor + (1 - startFactor) * e / warmupEpochs);
    }
}
