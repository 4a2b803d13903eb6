// CPU reference for row-wise L2 normalisation forward and backward (double accumulation of dot products).
package org.compress.engine.backend.cpu;

import org.compress.engine.ops.NormalizeOp;
import org.compress.engine.tensor.Tensor;

final class CpuNormalize implements NormalizeOp {
    @Override public void forward(Tensor x, Tensor y, Tensor norms) {
        NormalizeOp.checkForward(x, y, norms);
        float[] xa = x.cpuStorage().f32(), ya = y.cpuStorage().f32(), na = norms.cpuStorage().f32();
        int xo = (int) x.offset(), yo = (int) y.offset(), no = (int) norms.offset();
        int rows = x.dim(0), d = x.dim(1);
        for (int r = 0; r < rows; r++) {
            double ss = 0;
            for (int j = 0; j < d; j++) {
                double v = xa[xo + r * d + j];
                ss += v * v;
            }
            float norm = Math.max((float) Math.sqrt(ss), EPS);
            na[no + r] = norm;
            for (int j = 0; j < d; j++) ya[yo + r * d + j] = xa[xo + r * d + j] / norm;
        }
    }

    @Override public void backward(Tensor y, Tensor norms, Tensor dy, Tensor dx) {
        NormalizeOp.checkBackward(y, norms, dy, dx);
        float[] ya = y.cpuStorage().f32(), na = norms.cpuStorage().f32(), ga = dy.cpuStorage().f32(), da = dx.cpuStorage().f32();
        int yo = (int) y.offset(), no = (int) norms.offset(), go = (int) dy.offset(), dxo = (int) dx.offset();
        int rows = y.dim(0), d = y.dim(1);
        for (int r = 0; r < rows; r++) {
            double dot = 0;
            for (int j = 0; j < d; j++) dot += (double) ya[yo + r * d + j] * ga[go + r * d + j];
            float norm = na[no + r];
            for (int j = 0; j < d; j++) {
                da[dxo + r * d + j] = (float) ((ga[go + r * d + j] - ya[yo + r * d + j] * dot) / norm);
            }
        }
    }
}
