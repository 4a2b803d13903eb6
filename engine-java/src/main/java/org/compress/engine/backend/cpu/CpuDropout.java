// CPU reference inverted dropout with DropoutOp's counter-based mask.
package org.compress.engine.backend.cpu;

import org.compress.engine.ops.DropoutOp;
import org.compress.engine.tensor.Tensor;

final class CpuDropout implements DropoutOp {
    @Override public void forward(Tensor x, Tensor y, Tensor mask, float p, long seed) {
        DropoutOp.check(x, y, mask, p);
        float[] xa = x.cpuStorage().f32(), ya = y.cpuStorage().f32();
        byte[] ma = mask.cpuStorage().u8();
        int xo = (int) x.offset(), yo = (int) y.offset(), mo = (int) mask.offset(), n = (int) x.numel();
        float scale = 1f / (1f - p);
        for (int i = 0; i < n; i++) {
            boolean keep = DropoutOp.uniform(seed, i) >= p;
            ma[mo + i] = (byte) (keep ? 1 : 0);
            ya[yo + i] = keep ? xa[xo + i] * scale : 0f;
        }
    }

    @Override public void backward(Tensor dy, Tensor mask, Tensor dx, float p) {
        DropoutOp.check(dy, dx, mask, p);
        float[] ga = dy.cpuStorage().f32(), da = dx.cpuStorage().f32();
        byte[] ma = mask.cpuStorage().u8();
        int go = (int) dy.offset(), dxo = (int) dx.offset(), mo = (int) mask.offset(), n = (int) dy.numel();
        float scale = 1f / (1f - p);
        for (int i = 0; i < n; i++) da[dxo + i] = ma[mo + i] != 0 ? ga[go + i] * scale : 0f;
    }
}
