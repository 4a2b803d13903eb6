// Fast CPU 2-d convolution (the CPU backend's default; CpuConvolution stays as the oracle): im2col + the
// blocked GEMM in CpuGemm4, images split into one contiguous range per worker of the common ForkJoin pool.
//   forward          Y_g[K/g][cols]   = W_g[K/g][CRS] * col[CRS][cols]    (col: im2col of a chunk of images)
//   backward-data    dcol[CRS][cols]  = W_g^T * dY_g, then col2im adds dcol into dx
//   backward-filter  dW_g^T[CRS][K/g] += col[CRS][cols] * dY_g^T[cols][K/g]  (per worker, summed in a fixed order)
// Each worker keeps its scratch arrays between calls, so a steady training step allocates nothing here.
// BF16 tensors go through CpuFloats views: widened in, the fp32 result rounded once out.
package org.compress.engine.backend.cpu;

import java.util.Arrays;
import java.util.stream.IntStream;
import org.compress.engine.ops.Conv2dParams;
import org.compress.engine.ops.ConvolutionOp;
import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.Tensor;

final class CpuGemmConvolution implements ConvolutionOp {
    /** Floats in one worker's column buffer: bounds scratch memory at 16 MiB per worker. */
    private static final int COL_BUDGET = 1 << 22;

    private final int workers;
    private final Scratch[] scratch;

    CpuGemmConvolution() { this(Runtime.getRuntime().availableProcessors()); }

    CpuGemmConvolution(int workers) {
        this.workers = Math.max(1, workers);
        this.scratch = new Scratch[this.workers];
        for (int i = 0; i < this.workers; i++) scratch[i] = new Scratch();
    }

    private static final class Scratch {
        float[] col = new float[0];
        float[] tmp = new float[0];
        float[] dw = new float[0];

        float[] col(int n) { return col.length >= n ? col : (col = new float[n]); }

        float[] tmp(int n) { return tmp.length >= n ? tmp : (tmp = new float[n]); }

        float[] dw(int n) { return dw.length >= n ? dw : (dw = new float[n]); }
    }

    /** Shapes of one call; x/dx is (n, c, h, w), w/dw is (k, cg, r, s), y/dy is (n, k, oh, ow). */
    private record Geometry(int n, int c, int h, int w, int k, int cg, int kg, int r, int s, int oh, int ow, Conv2dParams p) {
        static Geometry of(Tensor x, Tensor weights, Tensor y, Conv2dParams p) {
            return new Geometry(x.dim(0), x.dim(1), x.dim(2), x.dim(3), weights.dim(0), weights.dim(1),
                    weights.dim(0) / p.groups(), weights.dim(2), weights.dim(3), y.dim(2), y.dim(3), p);
        }

        int pq() { return oh * ow; }

        int crs() { return cg * r * s; }

        /** Images per column chunk: as many as the scratch budget allows, at least one. */
        int chunk() { return Math.max(1, Math.min(n, COL_BUDGET / Math.max(1, crs() * pq()))); }
    }

    /** Runs body(worker, firstImage, imageCount) over the batch split into contiguous ranges. */
    private void parallelOverImages(int n, Body body) {
        int parts = Math.min(workers, n);
        if (parts <= 1) {
            body.run(0, 0, n);
            return;
        }
        IntStream.range(0, parts).parallel().forEach(t -> {
            int b0 = (int) ((long) n * t / parts), b1 = (int) ((long) n * (t + 1) / parts);
            body.run(t, b0, b1 - b0);
        });
    }

    private interface Body { void run(int worker, int firstImage, int count); }

    @Override public synchronized void forward(Tensor x, Tensor w, Tensor bias, Tensor y, Conv2dParams p) {
        ConvolutionOp.checkForward(x, w, bias, y, p);
        Checks.contiguous("conv2d x (CPU)", x);
        Checks.contiguous("conv2d y (CPU)", y);
        Geometry g = Geometry.of(x, w, y, p);
        CpuFloats.View xv = CpuFloats.of(x), wv = CpuFloats.of(w), yv = CpuFloats.output(y);
        float[] xa = xv.a(), wa = wv.a(), ya = yv.a();
        float[] ba = bias == null ? null : bias.cpuStorage().f32();
        int xo = xv.off(), wo = wv.off(), yo = yv.off(), bo = bias == null ? 0 : (int) bias.offset();
        int pq = g.pq(), crs = g.crs();
        parallelOverImages(g.n, (t, first, count) -> {
            Scratch sc = scratch[t];
            int chunk = g.chunk();
            float[] col = sc.col(crs * chunk * pq);
            float[] out = sc.tmp(g.kg * chunk * pq);
            for (int b0 = first; b0 < first + count; b0 += chunk) {
                int nb = Math.min(chunk, first + count - b0), cols = nb * pq;
                for (int grp = 0; grp < p.groups(); grp++) {
                    im2col(g, xa, xo, grp, b0, nb, col);
                    CpuGemm4.gemm(false, g.kg, cols, crs, wa, wo + grp * g.kg * crs, crs, col, 0, cols, out, 0, cols, false);
                    for (int bb = 0; bb < nb; bb++) for (int kk = 0; kk < g.kg; kk++) {
                        int oc = grp * g.kg + kk;
                        float bv = ba == null ? 0f : ba[bo + oc];
                        int dst = yo + ((b0 + bb) * g.k + oc) * pq, src = kk * cols + bb * pq;
                        for (int i = 0; i < pq; i++) ya[dst + i] = out[src + i] + bv;
                    }
                }
            }
        });
        yv.commit();
    }

    @Override public synchronized void backwardData(Tensor dy, Tensor w, Tensor dx, Conv2dParams p) {
        ConvolutionOp.checkBackwardData(dy, w, dx, p);
        Checks.contiguous("conv2d dy (CPU)", dy);
        Checks.contiguous("conv2d dx (CPU)", dx);
        Geometry g = Geometry.of(dx, w, dy, p);
        CpuFloats.View gv = CpuFloats.of(dy), wv = CpuFloats.of(w), dv = CpuFloats.output(dx);
        float[] ga = gv.a(), wa = wv.a(), da = dv.a();
        int go = gv.off(), wo = wv.off(), dxo = dv.off();
        int pq = g.pq(), crs = g.crs();
        parallelOverImages(g.n, (t, first, count) -> {
            Scratch sc = scratch[t];
            int chunk = g.chunk();
            float[] col = sc.col(crs * chunk * pq);
            float[] dyg = sc.tmp(g.kg * chunk * pq);
            int imageSize = g.c * g.h * g.w;
            Arrays.fill(da, dxo + first * imageSize, dxo + (first + count) * imageSize, 0f);
            for (int b0 = first; b0 < first + count; b0 += chunk) {
                int nb = Math.min(chunk, first + count - b0), cols = nb * pq;
                for (int grp = 0; grp < p.groups(); grp++) {
                    gatherDy(g, ga, go, grp, b0, nb, dyg);
                    CpuGemm4.gemm(true, crs, cols, g.kg, wa, wo + grp * g.kg * crs, crs, dyg, 0, cols, col, 0, cols, false);
                    col2im(g, col, grp, b0, nb, da, dxo);
                }
            }
        });
        dv.commit();
    }

    @Override public synchronized void backwardFilter(Tensor x, Tensor dy, Tensor dw, Conv2dParams p) {
        ConvolutionOp.checkBackwardFilter(x, dy, dw, p);
        Checks.contiguous("conv2d x (CPU)", x);
        Checks.contiguous("conv2d dy (CPU)", dy);
        Geometry g = Geometry.of(x, dw, dy, p);
        CpuFloats.View xv = CpuFloats.of(x), gv = CpuFloats.of(dy), dv = CpuFloats.output(dw);
        float[] xa = xv.a(), ga = gv.a(), da = dv.a();
        int xo = xv.off(), go = gv.off(), dwo = dv.off();
        int pq = g.pq(), crs = g.crs(), size = g.k * crs;
        int parts = Math.min(workers, g.n);
        for (int t = 0; t < parts; t++) Arrays.fill(scratch[t].dw(size), 0, size, 0f);
        parallelOverImages(g.n, (t, first, count) -> {
            Scratch sc = scratch[t];
            int chunk = g.chunk();
            float[] col = sc.col(crs * chunk * pq);
            float[] dyT = sc.tmp(g.kg * chunk * pq);
            float[] partial = sc.dw;   // [groups][CRS][K/g]: dW transposed per group
            for (int b0 = first; b0 < first + count; b0 += chunk) {
                int nb = Math.min(chunk, first + count - b0), cols = nb * pq;
                for (int grp = 0; grp < p.groups(); grp++) {
                    im2col(g, xa, xo, grp, b0, nb, col);
                    for (int bb = 0; bb < nb; bb++) for (int kk = 0; kk < g.kg; kk++) {
                        int src = go + ((b0 + bb) * g.k + grp * g.kg + kk) * pq;
                        for (int i = 0; i < pq; i++) dyT[(bb * pq + i) * g.kg + kk] = ga[src + i];
                    }
                    CpuGemm4.gemm(false, crs, g.kg, cols, col, 0, cols, dyT, 0, g.kg, partial, grp * crs * g.kg, g.kg, true);
                }
            }
        });
        for (int grp = 0; grp < p.groups(); grp++) for (int kk = 0; kk < g.kg; kk++) for (int q = 0; q < crs; q++) {
            float sum = 0f;
            for (int t = 0; t < parts; t++) sum += scratch[t].dw[(grp * crs + q) * g.kg + kk];
            da[dwo + (grp * g.kg + kk) * crs + q] = sum;
        }
        dv.commit();
    }

    /** col[(ic*R + i)*S + j][bb*PQ + oh*OW + ow] = x[b0+bb, grp*cg + ic, ih, iw], or 0 in the padding. */
    private static void im2col(Geometry g, float[] x, int xo, int grp, int b0, int nb, float[] col) {
        Conv2dParams p = g.p;
        int pq = g.pq(), cols = nb * pq;
        for (int ic = 0; ic < g.cg; ic++) for (int i = 0; i < g.r; i++) for (int j = 0; j < g.s; j++) {
            int row = ((ic * g.r + i) * g.s + j) * cols;
            for (int bb = 0; bb < nb; bb++) {
                int plane = xo + ((b0 + bb) * g.c + grp * g.cg + ic) * g.h * g.w;
                int dst = row + bb * pq;
                for (int oh = 0; oh < g.oh; oh++) {
                    int ih = oh * p.strideH() - p.padH() + i * p.dilationH();
                    int d = dst + oh * g.ow;
                    if (ih < 0 || ih >= g.h) {
                        Arrays.fill(col, d, d + g.ow, 0f);
                        continue;
                    }
                    int src = plane + ih * g.w;
                    for (int ow = 0; ow < g.ow; ow++) {
                        int iw = ow * p.strideW() - p.padW() + j * p.dilationW();
                        col[d + ow] = iw >= 0 && iw < g.w ? x[src + iw] : 0f;
                    }
                }
            }
        }
    }

    /** The inverse scatter of im2col: dx[...] += col[...] (dx must be zeroed first). */
    private static void col2im(Geometry g, float[] col, int grp, int b0, int nb, float[] dx, int dxo) {
        Conv2dParams p = g.p;
        int pq = g.pq(), cols = nb * pq;
        for (int ic = 0; ic < g.cg; ic++) for (int i = 0; i < g.r; i++) for (int j = 0; j < g.s; j++) {
            int row = ((ic * g.r + i) * g.s + j) * cols;
            for (int bb = 0; bb < nb; bb++) {
                int plane = dxo + ((b0 + bb) * g.c + grp * g.cg + ic) * g.h * g.w;
                int src = row + bb * pq;
                for (int oh = 0; oh < g.oh; oh++) {
                    int ih = oh * p.strideH() - p.padH() + i * p.dilationH();
                    if (ih < 0 || ih >= g.h) continue;
                    int d = plane + ih * g.w, s = src + oh * g.ow;
                    for (int ow = 0; ow < g.ow; ow++) {
                        int iw = ow * p.strideW() - p.padW() + j * p.dilationW();
                        if (iw >= 0 && iw < g.w) dx[d + iw] += col[s + ow];
                    }
                }
            }
        }
    }

    /** dyg[kk][bb*PQ + pos] = dy[b0+bb, grp*kg + kk, pos]. */
    private static void gatherDy(Geometry g, float[] dy, int go, int grp, int b0, int nb, float[] dyg) {
        int pq = g.pq(), cols = nb * pq;
        for (int kk = 0; kk < g.kg; kk++) for (int bb = 0; bb < nb; bb++) {
            System.arraycopy(dy, go + ((b0 + bb) * g.k + grp * g.kg + kk) * pq, dyg, kk * cols + bb * pq, pq);
        }
    }
}
