// Pooling for the fast CPU backend's CHANNELS_LAST (NHWC) F32 activations: the reference's loops (first maximum
// wins a tie, NaN wins; PyTorch's adaptive bins, double sums) with NHWC indexing. Everything else (NCHW, BF16)
// goes to the reference, CpuPooling.
package org.compress.engine.backend.cpu;

import java.util.Arrays;
import org.compress.engine.ops.PoolParams;
import org.compress.engine.ops.PoolingOp;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;

final class NhwcPooling implements PoolingOp {
    private final PoolingOp reference;

    NhwcPooling(PoolingOp reference) { this.reference = reference; }

    private static boolean nhwc(Tensor... ts) {
        for (Tensor t : ts) if (t.dtype() != DType.F32 || t.format() != MemoryFormat.CHANNELS_LAST) return false;
        return true;
    }

    @Override public void maxForward(Tensor x, Tensor y, PoolParams p) {
        PoolingOp.checkMax(x, y, p);
        if (!nhwc(x, y)) {
            reference.maxForward(x, y, p);
            return;
        }
        float[] xa = x.cpuStorage().f32(), ya = y.cpuStorage().f32();
        int xo = (int) x.offset(), yo = (int) y.offset();
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
        for (int b = 0; b < n; b++) for (int i = 0; i < oh; i++) for (int j = 0; j < ow; j++) for (int ch = 0; ch < c; ch++) {
            int arg = argmax(xa, xo + b * h * w * c + ch, c, h, w, i, j, p);
            ya[yo + ((b * oh + i) * ow + j) * c + ch] = xa[xo + b * h * w * c + ch + arg * c];
        }
    }

    @Override public void maxBackward(Tensor x, Tensor y, Tensor dy, Tensor dx, PoolParams p) {
        PoolingOp.checkMaxBackward(x, y, dy, dx, p);
        if (!nhwc(x, y, dy, dx)) {
            reference.maxBackward(x, y, dy, dx, p);
            return;
        }
        float[] xa = x.cpuStorage().f32(), ga = dy.cpuStorage().f32(), da = dx.cpuStorage().f32();
        int xo = (int) x.offset(), go = (int) dy.offset(), dxo = (int) dx.offset();
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
        Arrays.fill(da, dxo, dxo + n * h * w * c, 0f);
        for (int b = 0; b < n; b++) for (int i = 0; i < oh; i++) for (int j = 0; j < ow; j++) for (int ch = 0; ch < c; ch++) {
            int arg = argmax(xa, xo + b * h * w * c + ch, c, h, w, i, j, p);
            da[dxo + b * h * w * c + ch + arg * c] += ga[go + ((b * oh + i) * ow + j) * c + ch];
        }
    }

    /** Pixel index (ih * w + iw) of the first maximum of window (i, j) for one channel; NaN wins, as in PyTorch. */
    private static int argmax(float[] xa, int base, int c, int h, int w, int i, int j, PoolParams p) {
        int best = -1;
        float max = Float.NEGATIVE_INFINITY;
        for (int a = 0; a < p.kernelH(); a++) {
            int ih = i * p.strideH() - p.padH() + a;
            if (ih < 0 || ih >= h) continue;
            for (int bw = 0; bw < p.kernelW(); bw++) {
                int iw = j * p.strideW() - p.padW() + bw;
                if (iw < 0 || iw >= w) continue;
                float v = xa[base + (ih * w + iw) * c];
                if (best < 0 || v > max || Float.isNaN(v)) {
                    best = ih * w + iw;
                    max = v;
                    if (Float.isNaN(v)) return best;
                }
            }
        }
        return best;
    }

    @Override public void adaptiveAvgForward(Tensor x, Tensor y) {
        PoolingOp.checkAdaptive(x, y);
        if (!nhwc(x, y)) {
            reference.adaptiveAvgForward(x, y);
            return;
        }
        float[] xa = x.cpuStorage().f32(), ya = y.cpuStorage().f32();
        int xo = (int) x.offset(), yo = (int) y.offset();
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3), oh = y.dim(2), ow = y.dim(3);
        double[] sum = channelSums(c);
        // per output pixel, the bin's rows with the channels innermost (contiguous in NHWC); each channel's double sum
        // still runs over the bin in the reference's (row, column) order, so the bits are the reference's
        for (int b = 0; b < n; b++) for (int i = 0; i < oh; i++) for (int j = 0; j < ow; j++) {
            int h0 = CpuPooling.binStart(i, h, oh), h1 = CpuPooling.binEnd(i, h, oh);
            int w0 = CpuPooling.binStart(j, w, ow), w1 = CpuPooling.binEnd(j, w, ow);
            Arrays.fill(sum, 0, c, 0.0);
            for (int a = h0; a < h1; a++) for (int bw = w0; bw < w1; bw++) {
                int row = xo + ((b * h + a) * w + bw) * c;
                for (int ch = 0; ch < c; ch++) sum[ch] += xa[row + ch];
            }
            int out = yo + ((b * oh + i) * ow + j) * c, count = (h1 - h0) * (w1 - w0);
            for (int ch = 0; ch < c; ch++) ya[out + ch] = (float) (sum[ch] / count);
        }
    }

    @Override public void adaptiveAvgBackward(Tensor dy, Tensor dx) {
        PoolingOp.checkAdaptive(dx, dy);
        if (!nhwc(dy, dx)) {
            reference.adaptiveAvgBackward(dy, dx);
            return;
        }
        float[] ga = dy.cpuStorage().f32(), da = dx.cpuStorage().f32();
        int go = (int) dy.offset(), dxo = (int) dx.offset();
        int n = dx.dim(0), c = dx.dim(1), h = dx.dim(2), w = dx.dim(3), oh = dy.dim(2), ow = dy.dim(3);
        Arrays.fill(da, dxo, dxo + n * h * w * c, 0f);
        float[] g = channelGrads(c);
        for (int b = 0; b < n; b++) for (int i = 0; i < oh; i++) for (int j = 0; j < ow; j++) {
            int h0 = CpuPooling.binStart(i, h, oh), h1 = CpuPooling.binEnd(i, h, oh);
            int w0 = CpuPooling.binStart(j, w, ow), w1 = CpuPooling.binEnd(j, w, ow);
            int in = go + ((b * oh + i) * ow + j) * c, count = (h1 - h0) * (w1 - w0);
            for (int ch = 0; ch < c; ch++) g[ch] = ga[in + ch] / count;
            for (int a = h0; a < h1; a++) for (int bw = w0; bw < w1; bw++) {
                int row = dxo + ((b * h + a) * w + bw) * c;
                for (int ch = 0; ch < c; ch++) da[row + ch] += g[ch];
            }
        }
    }

    /** A per-thread buffer of c doubles, grown once: a steady step allocates nothing here. */
    private static double[] channelSums(int c) {
        double[] a = SUMS.get();
        if (a.length < c) SUMS.set(a = new double[c]);
        return a;
    }

    /** The same for c floats. */
    private static float[] channelGrads(int c) {
        float[] a = GRADS.get();
        if (a.length < c) GRADS.set(a = new float[c]);
        return a;
    }

    private static final ThreadLocal<double[]> SUMS = ThreadLocal.withInitial(() -> new double[0]);
    private static final ThreadLocal<float[]> GRADS = ThreadLocal.withInitial(() -> new float[0]);
}
