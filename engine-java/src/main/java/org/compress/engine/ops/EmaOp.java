// Multi-tensor exponential moving average (MoCo's momentum encoder): target = target * m + source * (1 - m)
// for every tensor pair, each product and the sum rounded to fp32 separately (as PyTorch's two-op form),
// so backends agree bitwise. prepare() fixes the lists once; update() allocates nothing.
package org.compress.engine.ops;

import java.util.List;
import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public interface EmaOp {
    interface Group extends AutoCloseable {
        int size();

        @Override void close();
    }

    Group prepare(List<Tensor> targets, List<Tensor> sources);

    /**
     * One EMA step. m is a double because PyTorch forms 1 - m in double before rounding it to fp32:
     * the fp32 factors are (float) m and (float) (1 - m).
     */
    void update(Group group, double m);

    static void checkPrepare(List<Tensor> targets, List<Tensor> sources) {
        if (targets.size() != sources.size()) {
            throw new ShapeMismatchException("ema: expected as many sources as targets, found " + sources.size() + " vs " + targets.size());
        }
        for (int i = 0; i < targets.size(); i++) {
            Checks.dtype("ema target " + i, targets.get(i), DType.F32);
            Checks.dtype("ema source " + i, sources.get(i), DType.F32);
            Checks.sameShape("ema source " + i + " vs target", sources.get(i), targets.get(i));
        }
    }

    static void checkMomentum(double m) {
        if (!(m >= 0f && m <= 1f)) throw new IllegalArgumentException("ema: expected 0 <= m <= 1, found " + m);
    }
}
