// CPU reference activations and the fused add + activation: plain loops over float views of the host arrays
// (BF16 operands are widened, the result rounded once).
package org.compress.engine.backend.cpu;

import org.compress.engine.ops.Activation;
import org.compress.engine.ops.ActivationOp;
import org.compress.engine.tensor.Tensor;

final class CpuActivation implements ActivationOp {
    @Override public void forward(Activation act, Tensor x, Tensor y) {
        ActivationOp.checkSame("activation", x, y);
        CpuFloats.View xv = CpuFloats.of(x), yv = CpuFloats.output(y);
        float[] xa = xv.a(), ya = yv.a();
        int xo = xv.off(), yo = yv.off(), n = (int) x.numel();
        for (int i = 0; i < n; i++) ya[yo + i] = act.apply(xa[xo + i]);
        yv.commit();
    }

    @Override public void addForward(Activation act, Tensor a, Tensor b, Tensor y) {
        ActivationOp.checkSame("add+activation", a, b, y);
        CpuFloats.View av = CpuFloats.of(a), bv = CpuFloats.of(b), yv = CpuFloats.output(y);
        float[] aa = av.a(), ba = bv.a(), ya = yv.a();
        int ao = av.off(), bo = bv.off(), yo = yv.off(), n = (int) a.numel();
        for (int i = 0; i < n; i++) ya[yo + i] = act.apply(aa[ao + i] + ba[bo + i]);
        yv.commit();
    }

    @Override public void backward(Activation act, Tensor y, Tensor dy, Tensor dx) {
        ActivationOp.checkSame("activation backward", y, dy, dx);
        CpuFloats.View yv = CpuFloats.of(y), gv = CpuFloats.of(dy), dv = CpuFloats.output(dx);
        float[] ya = yv.a(), ga = gv.a(), da = dv.a();
        int yo = yv.off(), go = gv.off(), dxo = dv.off(), n = (int) y.numel();
        for (int i = 0; i < n; i++) da[dxo + i] = act.passes(ya[yo + i]) ? ga[go + i] : 0f;
        dv.commit();
    }
}
