// CPU reference pooling: max pooling (first maximum wins a tie, as PyTorch's CPU kernel) and adaptive
// average pooling with PyTorch's bin boundaries. BF16 tensors are read widened and written rounded once.
package org.compress.engine.backend.cpu;

import java.util.Arrays;
import org.compress.engine.ops.PoolParams;
import org.compress.engine.ops.PoolingOp;
import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.Tensor;

final class CpuPooling implements PoolingOp {
    @Override public void maxForward(Tensor x, Tensor y, PoolParams p) {
        PoolingOp.checkMax(x, y, p);
        contiguous(x, y);
        CpuFloats.View xv = CpuFloats.of(x), yv = CpuFloats.output(y);
        float[] xa = xv.a(), ya = yv.a();
        int xo = xv.off(), yo = yv.off();
        int planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
        for (int pl = 0; pl < planes; pl++) for (int i = 0; i < oh; i++) for (int j = 0; j < ow; j++) {
            int arg = argmax(xa, xo + pl * h * w, h, w, i, j, p);
            ya[yo + (pl * oh + i) * ow + j] = xa[xo + pl * h * w + arg];
        }
        yv.commit();
    }

    @Override public void maxBackward(Tensor x, Tensor y, Tensor dy, Tensor dx, PoolParams p) {
        PoolingOp.checkMaxBackward(x, y, dy, dx, p);
        contiguous(x, dx);
        Checks.contiguous("maxpool dy (CPU)", dy);
        CpuFloats.View xv = CpuFloats.of(x), gv = CpuFloats.of(dy), dv = CpuFloats.output(dx);
        float[] xa = xv.a(), ga = gv.a(), da = dv.a();
        int xo = xv.off(), go = gv.off(), dxo = dv.off();
        int planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
        Arrays.fill(da, dxo, dxo + planes * h * w, 0f);
        for (int pl = 0; pl < planes; pl++) for (int i = 0; i < oh; i++) for (int j = 0; j < ow; j++) {
            int arg = argmax(xa, xo + pl * h * w, h, w, i, j, p);
            da[dxo + pl * h * w + arg] += ga[go + (pl * oh + i) * ow + j];
        }
        dv.commit();
    }

    /** Offset within the plane of the first maximum of window (i, j); NaN wins, as in PyTorch. */
    private static int argmax(float[] xa, int plane, int h, int w, int i, int j, PoolParams p) {
        int best = -1;
        float max = Float.NEGATIVE_INFINITY;
        for (int a = 0; a < p.kernelH(); a++) {
            int ih = i * p.strideH() - p.padH() + a;
            if (ih < 0 || ih >= h) continue;
            for (int b = 0; b < p.kernelW(); b++) {
                int iw = j * p.strideW() - p.padW() + b;
                if (iw < 0 || iw >= w) continue;
                float v = xa[plane + ih * w + iw];
                if (best < 0 || v > max || Float.isNaN(v)) {
                    best = ih * w + iw;
                    max = v;
                    if (Float.isNaN(v)) return best;
                }
            }
        }
        return best;
    }

    static int binStart(int o, int in, int out) { return (int) Math.floor((double) o * in / out); }

    static int binEnd(int o, int in, int out) { return (int) Math.ceil((double) (o + 1) * in / out); }

    @Override public void adaptiveAvgForward(Tensor x, Tensor y) {
        PoolingOp.checkAdaptive(x, y);
        contiguous(x, y);
        CpuFloats.View xv = CpuFloats.of(x), yv = CpuFloats.output(y);
        float[] xa = xv.a(), ya = yv.a();
        int xo = xv.off(), yo = yv.off();
        int planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
        for (int pl = 0; pl < planes; pl++) for (int i = 0; i < oh; i++) for (int j = 0; j < ow; j++) {
            int h0 = binStart(i, h, oh), h1 = binEnd(i, h, oh), w0 = binStart(j, w, ow), w1 = binEnd(j, w, ow);
            double sum = 0;
            for (int a = h0; a < h1; a++) for (int b = w0; b < w1; b++) sum += xa[xo + (pl * h + a) * w + b];
            ya[yo + (pl * oh + i) * ow + j] = (float) (sum / ((h1 - h0) * (w1 - w0)));
        }
        yv.commit();
    }

    @Override public void adaptiveAvgBackward(Tensor dy, Tensor dx) {
        PoolingOp.checkAdaptive(dx, dy);
        contiguous(dx, dy);
        CpuFloats.View gv = CpuFloats.of(dy), dv = CpuFloats.output(dx);
        float[] ga = gv.a(), da = dv.a();
        int go = gv.off(), dxo = dv.off();
        int planes = dx.dim(0) * dx.dim(1), h = dx.dim(2), w = dx.dim(3), oh = dy.dim(2), ow = dy.dim(3);
        Arrays.fill(da, dxo, dxo + planes * h * w, 0f);
        for (int pl = 0; pl < planes; pl++) for (int i = 0; i < oh; i++) for (int j = 0; j < ow; j++) {
            int h0 = binStart(i, h, oh), h1 = binEnd(i, h, oh), w0 = binStart(j, w, ow), w1 = binEnd(j, w, ow);
            float g = ga[go + (pl * oh + i) * ow + j] / ((h1 - h0) * (w1 - w0));
            for (int a = h0; a < h1; a++) for (int b = w0; b < w1; b++) da[dxo + (pl * h + a) * w + b] += g;
        }
        dv.commit();
    }

    private static void contiguous(Tensor a, Tensor b) {
        Checks.contiguous("pooling (CPU)", a);
        Checks.contiguous("pooling (CPU)", b);
    }
}
