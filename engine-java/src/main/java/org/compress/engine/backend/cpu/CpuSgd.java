// CPU reference multi-tensor SGD: SgdOp.update applied element by element.
package org.compress.engine.backend.cpu;

import java.util.List;
import org.compress.engine.ops.SgdOp;
import org.compress.engine.tensor.Tensor;

final class CpuSgd implements SgdOp {
    private record CpuGroup(List<Tensor> params, List<Tensor> grads, List<Tensor> momenta, float[] weightDecay) implements Group {
        @Override public int size() { return params.size(); }

        @Override public void close() { /* holds no resources */ }
    }

    @Override public Group prepare(List<Tensor> params, List<Tensor> grads, List<Tensor> momenta, float[] weightDecay) {
        SgdOp.checkPrepare(params, grads, momenta, weightDecay);
        return new CpuGroup(List.copyOf(params), List.copyOf(grads), momenta == null ? null : List.copyOf(momenta), weightDecay.clone());
    }

    @Override public void step(Group group, float lr, float momentum, float dampening, boolean nesterov, boolean firstStep) {
        CpuGroup g = (CpuGroup) group;
        SgdOp.checkStep(group, lr, momentum, dampening, nesterov, g.momenta != null);
        float[] buf = new float[1];
        for (int t = 0; t < g.size(); t++) {
            Tensor p = g.params.get(t), gr = g.grads.get(t);
            float[] pa = p.cpuStorage().f32(), ga = gr.cpuStorage().f32();
            float[] ma = momentum != 0 ? g.momenta.get(t).cpuStorage().f32() : null;
            int po = (int) p.offset(), go = (int) gr.offset(), mo = ma == null ? 0 : (int) g.momenta.get(t).offset();
            float wd = g.weightDecay[t];
            for (int i = 0; i < p.numel(); i++) {
                buf[0] = ma == null ? 0f : ma[mo + i];
                pa[po + i] = SgdOp.update(pa[po + i], ga[go + i], buf, wd, lr, momentum, dampening, nesterov, firstStep);
                if (ma != null) ma[mo + i] = buf[0];
            }
        }
    }
}
