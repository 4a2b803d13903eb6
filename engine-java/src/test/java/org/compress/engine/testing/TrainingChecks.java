// Shared pieces of the tests that train a network: a reference softmax cross-entropy (double, with its gradient)
// and a backend wrapper that counts tensor allocations, to prove a steady training step allocates nothing.
package org.compress.engine.testing;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.concurrent.atomic.AtomicInteger;
import org.compress.engine.backend.Backend;

public final class TrainingChecks {
    private TrainingChecks() {}

    /** Mean softmax cross-entropy in double; writes dL/dlogits (N x classes) into {@code grad}. */
    public static double crossEntropy(float[] logits, int[] labels, int classes, float[] grad) {
        int n = labels.length;
        double total = 0;
        for (int i = 0; i < n; i++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int c = 0; c < classes; c++) max = Math.max(max, logits[i * classes + c]);
            for (int c = 0; c < classes; c++) sum += Math.exp(logits[i * classes + c] - max);
            total += Math.log(sum) + max - logits[i * classes + labels[i]];
            for (int c = 0; c < classes; c++) {
                double p = Math.exp(logits[i * classes + c] - max) / sum;
                grad[i * classes + c] = (float) ((p - (c == labels[i] ? 1 : 0)) / n);
            }
        }
        return total / n;
    }

    /** {@code target} with every empty/zeros/upload call counted in {@code allocations}. */
    public static Backend countingAllocations(Backend target, AtomicInteger allocations) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (proxy, method, args) -> {
                    String m = method.getName();
                    if (m.equals("empty") || m.equals("zeros") || m.equals("upload")) allocations.incrementAndGet();
                    try {
                        return method.invoke(target, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }
}
