// CPU reference activations and the fused add + activation: plain loops over the host arrays.
package org.compress.engine.backend.cpu;

import org.compress.engine.ops.Activation;
import org.compress.engine.ops.ActivationOp;
import org.compress.engine.tensor.Tensor;

final class CpuActivation implements ActivationOp {
    @Override public void forward(Activation act, Tensor x, Tensor y) {
        ActivationOp.checkSame("activation", x, y);
        float[] xa = x.cpuStorage().f32(), ya = y.cpuStorage().f32();
        int xo = (int) x.offset(), yo = (int) y.offset(), n = (int) x.numel();
        for (int i = 0; i < n; i++) ya[yo + i] = act.apply(xa[xo + i]);
    }

    @Override public void addForward(Activation act, Tensor a, Tensor b, Tensor y) {
        ActivationOp.checkSame("add+activation", a, b, y);
        float[] aa = a.cpuStorage().f32(), ba = b.cpuStorage().f32(), ya = y.cpuStorage().f32();
        int ao = (int) a.offset(), bo = (int) b.offset(), yo = (int) y.offset(), n = (int) a.numel();
        for (int i = 0; i < n; i++) ya[yo + i] = act.apply(aa[ao + i] + ba[bo + i]);
    }

    @Override public void backward(Activation act, Tensor y, Tensor dy, Tensor dx) {
        ActivationOp.checkSame("activation backward", y, dy, dx);
        float[] ya = y.cpuStorage().f32(), ga = dy.cpuStorage().f32(), da = dx.cpuStorage().f32();
        int yo = (int) y.offset(), go = (int) dy.offset(), dxo = (int) dx.offset(), n = (int) y.numel();
        for (int i = 0; i < n; i++) da[dxo + i] = act.passes(ya[yo + i]) ? ga[go + i] : 0f;
    }
}
