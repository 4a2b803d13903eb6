// CPU reference per-channel bias add and its gradient (double accumulation).
package org.compress.engine.backend.cpu;

import org.compress.engine.ops.BiasOp;
import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.Tensor;

final class CpuBias implements BiasOp {
    @Override public void forward(Tensor y, Tensor bias) {
        BiasOp.check(y, bias);
        Checks.contiguous("bias y (CPU)", y);
        float[] ya = y.cpuStorage().f32(), ba = bias.cpuStorage().f32();
        int yo = (int) y.offset(), bo = (int) bias.offset();
        int n = y.dim(0), c = y.dim(1), inner = (int) (y.numel() / Math.max(1L, (long) n * c));
        for (int b = 0; b < n; b++) for (int ch = 0; ch < c; ch++) {
            float v = ba[bo + ch];
            int base = yo + (b * c + ch) * inner;
            for (int i = 0; i < inner; i++) ya[base + i] += v;
        }
    }

    @Override public void backward(Tensor dy, Tensor dBias) {
        BiasOp.check(dy, dBias);
        Checks.contiguous("bias dy (CPU)", dy);
        float[] ga = dy.cpuStorage().f32(), da = dBias.cpuStorage().f32();
        int go = (int) dy.offset(), dbo = (int) dBias.offset();
        int n = dy.dim(0), c = dy.dim(1), inner = (int) (dy.numel() / Math.max(1L, (long) n * c));
        for (int ch = 0; ch < c; ch++) {
            double s = 0;
            for (int b = 0; b < n; b++) {
                int base = go + (b * c + ch) * inner;
                for (int i = 0; i < inner; i++) s += ga[base + i];
            }
            da[dbo + ch] = (float) s;
        }
    }
}
