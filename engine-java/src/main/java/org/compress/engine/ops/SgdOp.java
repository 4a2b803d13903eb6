// Multi-tensor SGD step with PyTorch's exact rule (torch.optim.SGD), for every parameter i at once:
//   d = grad + wd_i * param;  buf = first ? d : momentum * buf + (1 - dampening) * d;
//   d = nesterov ? d + momentum * buf : buf;  param -= lr * d            (momentum 0: d is used directly)
// Each product and sum is rounded to fp32 separately (no fused multiply-add), so backends agree bitwise.
// prepare() fixes the tensor lists once (the CUDA backend uploads a pointer table); step() allocates nothing.
package org.compress.engine.ops;

import java.util.List;
import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public interface SgdOp {
    /** A prepared set of (param, grad, momentum buffer, weight decay) tuples; close it to free its table. */
    interface Group extends AutoCloseable {
        int size();

        @Override void close();
    }

    /** momenta may be null when momentum will be 0. weightDecay[i] applies to params.get(i). */
    Group prepare(List<Tensor> params, List<Tensor> grads, List<Tensor> momenta, float[] weightDecay);

    void step(Group group, float lr, float momentum, float dampening, boolean nesterov, boolean firstStep);

    /** One element of the rule above, the definition every backend follows. buf[0] is updated in place. */
    static float update(float param, float grad, float[] buf, float wd, float lr, float momentum, float dampening,
                        boolean nesterov, boolean first) {
        float d = wd != 0f ? grad + wd * param : grad;
        if (momentum != 0f) {
            buf[0] = first ? d : momentum * buf[0] + (1f - dampening) * d;
            d = nesterov ? d + momentum * buf[0] : buf[0];
        }
        return param - lr * d;
    }

    static void checkPrepare(List<Tensor> params, List<Tensor> grads, List<Tensor> momenta, float[] weightDecay) {
        int n = params.size();
        if (grads.size() != n || (momenta != null && momenta.size() != n) || weightDecay.length != n) {
            throw new ShapeMismatchException("sgd: expected " + n + " grads, momentum buffers and weight decays, found "
                    + grads.size() + ", " + (momenta == null ? "none" : momenta.size()) + ", " + weightDecay.length);
        }
        for (int i = 0; i < n; i++) {
            Checks.dtype("sgd param " + i, params.get(i), DType.F32);
            Checks.dtype("sgd grad " + i, grads.get(i), DType.F32);
            Checks.sameShape("sgd grad " + i + " vs param", grads.get(i), params.get(i));
            if (momenta != null) {
                Checks.dtype("sgd momentum buffer " + i, momenta.get(i), DType.F32);
                Checks.sameShape("sgd momentum buffer " + i + " vs param", momenta.get(i), params.get(i));
            }
        }
    }

    static void checkStep(Group group, float lr, float momentum, float dampening, boolean nesterov, boolean hasMomenta) {
        if (!(lr >= 0) || !(momentum >= 0) || !(dampening >= 0)) {
            throw new IllegalArgumentException("sgd: expected lr, momentum, dampening >= 0, found " + lr + ", " + momentum + ", " + dampening);
        }
        if (nesterov && (momentum == 0 || dampening != 0)) {
            throw new IllegalArgumentException("sgd: Nesterov momentum requires momentum > 0 and dampening 0, found "
                    + momentum + ", " + dampening);
        }
        if (momentum != 0 && !hasMomenta) throw new IllegalArgumentException("sgd: momentum " + momentum + " but no momentum buffers");
    }
}
