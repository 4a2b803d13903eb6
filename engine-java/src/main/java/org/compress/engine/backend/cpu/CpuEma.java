// CPU reference multi-tensor EMA: target = target * m + source * (1 - m), each operation rounded to fp32.
package org.compress.engine.backend.cpu;

import java.util.List;
import org.compress.engine.ops.EmaOp;
import org.compress.engine.tensor.Tensor;

final class CpuEma implements EmaOp {
    private record CpuGroup(List<Tensor> targets, List<Tensor> sources) implements Group {
        @Override public int size() { return targets.size(); }

        @Override public void close() { /* holds no resources */ }
    }

    @Override public Group prepare(List<Tensor> targets, List<Tensor> sources) {
        EmaOp.checkPrepare(targets, sources);
        return new CpuGroup(List.copyOf(targets), List.copyOf(sources));
    }

    @Override public void update(Group group, double momentum) {
        EmaOp.checkMomentum(momentum);
        CpuGroup g = (CpuGroup) group;
        float m = (float) momentum, rest = (float) (1.0 - momentum);
        for (int t = 0; t < g.size(); t++) {
            Tensor tt = g.targets.get(t), st = g.sources.get(t);
            float[] ta = tt.cpuStorage().f32(), sa = st.cpuStorage().f32();
            int to = (int) tt.offset(), so = (int) st.offset();
            for (int i = 0; i < tt.numel(); i++) ta[to + i] = ta[to + i] * m + sa[so + i] * rest;
        }
    }
}
