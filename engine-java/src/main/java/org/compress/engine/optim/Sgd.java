// SGD with momentum / Nesterov / weight decay over a model's parameters, with torch.optim.SGD's exact rule
// (see SgdOp): the first step initialises each momentum buffer with the gradient itself. Weight decay may
// exclude BN weights/biases and biases (Parameter.weightDecay() == false). One multi-tensor launch per step;
// momentum buffers are allocated once here, so step() allocates nothing.
package org.compress.engine.optim;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.compress.engine.backend.Backend;
import org.compress.engine.nn.Parameter;
import org.compress.engine.ops.SgdOp;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;

public final class Sgd implements AutoCloseable {
    /** decayAll = false leaves parameters with weightDecay() == false (BN and biases) undecayed. */
    public record Options(float momentum, float dampening, boolean nesterov, float weightDecay, boolean decayAll) {
        public Options {
            if (!(momentum >= 0) || !(dampening >= 0) || !(weightDecay >= 0)) {
                throw new IllegalArgumentException("sgd: expected momentum, dampening, weight decay >= 0, found " + this);
            }
            if (nesterov && (momentum == 0 || dampening != 0)) {
                throw new IllegalArgumentException("sgd: Nesterov momentum requires momentum > 0 and dampening 0, found " + this);
            }
        }

        /** CompRess's (and MoCo's) optimiser: momentum 0.9, weight decay 1e-4 on every parameter. */
        public static Options compress() { return new Options(0.9f, 0f, false, 1e-4f, true); }
    }

    private final Backend backend;
    private final Options options;
    private final Map<String, Tensor> momenta = new LinkedHashMap<>();
    private final SgdOp.Group group;
    private long steps;

    public Sgd(Backend backend, Map<String, Parameter> parameters, Options options) {
        this.backend = backend;
        this.options = options;
        List<Tensor> values = new ArrayList<>(), grads = new ArrayList<>(), bufs = new ArrayList<>();
        float[] decay = new float[parameters.size()];
        int i = 0;
        for (Map.Entry<String, Parameter> e : parameters.entrySet()) {
            Parameter p = e.getValue();
            values.add(p.value());
            grads.add(p.grad());
            if (options.momentum() != 0) {
                Tensor buf = backend.zeros(DType.F32, p.shape());
                momenta.put(e.getKey(), buf);
                bufs.add(buf);
            }
            decay[i++] = options.decayAll() || p.weightDecay() ? options.weightDecay() : 0f;
        }
        this.group = backend.sgd().prepare(values, grads, options.momentum() != 0 ? bufs : null, decay);
    }

    /** One update with learning rate lr, from the gradients the last backward wrote. */
    public void step(float lr) {
        backend.sgd().step(group, lr, options.momentum(), options.dampening(), options.nesterov(), steps == 0);
        steps++;
    }

    public long steps() { return steps; }

    public Options options() { return options; }

    /** The momentum buffers by parameter name (torch's optimizer state "momentum_buffer"). */
    public Map<String, Tensor> momentumBuffers() { return momenta; }

    /**
     * Restores a checkpointed optimizer: the momentum buffers (host or device tensors, same names and shapes) and
     * the step count (so a resumed run does not take PyTorch's first-step path again). Checks all before writing.
     */
    public void restore(Map<String, Tensor> buffers, long stepsTaken) {
        if (!buffers.keySet().equals(momenta.keySet())) {
            throw new IllegalArgumentException("sgd restore: expected momentum buffers for " + momenta.keySet() + ", found " + buffers.keySet());
        }
        for (Map.Entry<String, Tensor> e : buffers.entrySet()) {
            if (!e.getValue().sameShape(momenta.get(e.getKey())) || e.getValue().dtype() != DType.F32) {
                throw new IllegalArgumentException("sgd restore: momentum buffer " + e.getKey() + " is " + e.getValue()
                        + ", expected " + momenta.get(e.getKey()));
            }
        }
        if (stepsTaken < 0) throw new IllegalArgumentException("sgd restore: steps must be >= 0, found " + stepsTaken);
        for (Map.Entry<String, Tensor> e : buffers.entrySet()) {
            Tensor src = e.getValue();
            try (Tensor staged = src.device().equals(backend.device()) ? null : backend.upload(src)) {
                backend.elementwise().copy(staged != null ? staged : src, momenta.get(e.getKey()));
            }
        }
        steps = stepsTaken;
    }

    @Override public void close() {
        group.close();
        momenta.values().forEach(Tensor::close);
    }
}
