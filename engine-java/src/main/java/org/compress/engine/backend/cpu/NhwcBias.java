// Per-channel bias for the fast CPU backend's CHANNELS_LAST (NHWC) F32 activations (AlexNet's convolutions): the
// reference's loops with NHWC indexing; NCHW and 2-d tensors go to the reference, CpuBias.
package org.compress.engine.backend.cpu;

import org.compress.engine.ops.BiasOp;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;

final class NhwcBias implements BiasOp {
    private final BiasOp reference;
    private double[] sums = new double[0];

    NhwcBias(BiasOp reference) { this.reference = reference; }

    @Override public void forward(Tensor y, Tensor bias) {
        BiasOp.check(y, bias);
        if (y.format() != MemoryFormat.CHANNELS_LAST) {
            reference.forward(y, bias);
            return;
        }
        float[] ya = y.cpuStorage().f32(), ba = bias.cpuStorage().f32();
        int yo = (int) y.offset(), bo = (int) bias.offset(), c = y.dim(1);
        long rows = y.numel() / c;
        for (long r = 0; r < rows; r++) for (int ch = 0; ch < c; ch++) ya[(int) (yo + r * c + ch)] += ba[bo + ch];
    }

    @Override public synchronized void backward(Tensor dy, Tensor dBias) {
        BiasOp.check(dy, dBias);
        if (dy.format() != MemoryFormat.CHANNELS_LAST) {
            reference.backward(dy, dBias);
            return;
        }
        float[] ga = dy.cpuStorage().f32(), da = dBias.cpuStorage().f32();
        int go = (int) dy.offset(), dbo = (int) dBias.offset(), c = dy.dim(1);
        long rows = dy.numel() / c;
        if (sums.length < c) sums = new double[c];
        java.util.Arrays.fill(sums, 0, c, 0.0);
        for (long r = 0; r < rows; r++) for (int ch = 0; ch < c; ch++) sums[ch] += ga[(int) (go + r * c + ch)];
        for (int ch = 0; ch < c; ch++) da[dbo + ch] = (float) sums[ch];
    }
}
