// CPU reference 2-d convolution: the direct seven-loop definitions of forward, backward-data and
// backward-filter with double accumulation. It is the oracle the fast CpuGemmConvolution and cuDNN are
// tested against; it is too slow to train with. BF16 tensors: widened in, rounded once out (CpuFloats).
package org.compress.engine.backend.cpu;

import org.compress.engine.ops.Conv2dParams;
import org.compress.engine.ops.ConvolutionOp;
import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.Tensor;

public final class CpuConvolution implements ConvolutionOp {
    @Override public void forward(Tensor x, Tensor w, Tensor bias, Tensor y, Conv2dParams p) {
        ConvolutionOp.checkForward(x, w, bias, y, p);
        Checks.contiguous("conv2d x (CPU)", x);
        Checks.contiguous("conv2d y (CPU)", y);
        CpuFloats.View xv = CpuFloats.of(x), wv = CpuFloats.of(w), yv = CpuFloats.output(y);
        float[] xa = xv.a(), wa = wv.a(), ya = yv.a();
        float[] ba = bias == null ? null : bias.cpuStorage().f32();
        int xo = xv.off(), wo = wv.off(), yo = yv.off(), bo = bias == null ? 0 : (int) bias.offset();
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
        int k = w.dim(0), cg = w.dim(1), r = w.dim(2), s = w.dim(3);
        int outH = y.dim(2), outW = y.dim(3);
        int kPerGroup = k / p.groups();
        for (int b = 0; b < n; b++) {
            for (int oc = 0; oc < k; oc++) {
                int g = oc / kPerGroup;
                for (int oh = 0; oh < outH; oh++) {
                    for (int ow = 0; ow < outW; ow++) {
                        double acc = ba == null ? 0 : ba[bo + oc];
                        for (int ic = 0; ic < cg; ic++) {
                            int cin = g * cg + ic;
                            for (int i = 0; i < r; i++) {
                                int ih = oh * p.strideH() - p.padH() + i * p.dilationH();
                                if (ih < 0 || ih >= h) continue;
                                for (int j = 0; j < s; j++) {
                                    int iw = ow * p.strideW() - p.padW() + j * p.dilationW();
                                    if (iw < 0 || iw >= wd) continue;
                                    acc += (double) xa[xo + ((b * c + cin) * h + ih) * wd + iw]
                                            * wa[wo + ((oc * cg + ic) * r + i) * s + j];
                                }
                            }
                        }
                        ya[yo + ((b * k + oc) * outH + oh) * outW + ow] = (float) acc;
                    }
                }
            }
        }
        yv.commit();
    }

    @Override public void backwardData(Tensor dy, Tensor w, Tensor dx, Conv2dParams p) {
        ConvolutionOp.checkBackwardData(dy, w, dx, p);
        Checks.contiguous("conv2d dy (CPU)", dy);
        Checks.contiguous("conv2d dx (CPU)", dx);
        CpuFloats.View dyv = CpuFloats.of(dy), wv = CpuFloats.of(w), dv = CpuFloats.output(dx);
        float[] ga = dyv.a(), wa = wv.a(), da = dv.a();
        int go = dyv.off(), wo = wv.off(), dxo = dv.off();
        int n = dx.dim(0), c = dx.dim(1), h = dx.dim(2), wd = dx.dim(3);
        int k = w.dim(0), cg = w.dim(1), r = w.dim(2), s = w.dim(3);
        int outH = dy.dim(2), outW = dy.dim(3);
        int kPerGroup = k / p.groups();
        double[] acc = new double[(int) dx.numel()];
        for (int b = 0; b < n; b++) for (int oc = 0; oc < k; oc++) {
            int g = oc / kPerGroup;
            for (int oh = 0; oh < outH; oh++) for (int ow = 0; ow < outW; ow++) {
                double gv = ga[go + ((b * k + oc) * outH + oh) * outW + ow];
                for (int ic = 0; ic < cg; ic++) {
                    int cin = g * cg + ic;
                    for (int i = 0; i < r; i++) {
                        int ih = oh * p.strideH() - p.padH() + i * p.dilationH();
                        if (ih < 0 || ih >= h) continue;
                        for (int j = 0; j < s; j++) {
                            int iw = ow * p.strideW() - p.padW() + j * p.dilationW();
                            if (iw < 0 || iw >= wd) continue;
                            acc[((b * c + cin) * h + ih) * wd + iw] += gv * wa[wo + ((oc * cg + ic) * r + i) * s + j];
                        }
                    }
                }
            }
        }
        for (int i = 0; i < acc.length; i++) da[dxo + i] = (float) acc[i];
        dv.commit();
    }

    @Override public void backwardFilter(Tensor x, Tensor dy, Tensor dw, Conv2dParams p) {
        ConvolutionOp.checkBackwardFilter(x, dy, dw, p);
        Checks.contiguous("conv2d x (CPU)", x);
        Checks.contiguous("conv2d dy (CPU)", dy);
        CpuFloats.View xv = CpuFloats.of(x), dyv = CpuFloats.of(dy), dv = CpuFloats.output(dw);
        float[] xa = xv.a(), ga = dyv.a(), da = dv.a();
        int xo = xv.off(), go = dyv.off(), dwo = dv.off();
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
        int k = dw.dim(0), cg = dw.dim(1), r = dw.dim(2), s = dw.dim(3);
        int outH = dy.dim(2), outW = dy.dim(3);
        int kPerGroup = k / p.groups();
        double[] acc = new double[(int) dw.numel()];
        for (int b = 0; b < n; b++) for (int oc = 0; oc < k; oc++) {
            int g = oc / kPerGroup;
            for (int oh = 0; oh < outH; oh++) for (int ow = 0; ow < outW; ow++) {
                double gv = ga[go + ((b * k + oc) * outH + oh) * outW + ow];
                for (int ic = 0; ic < cg; ic++) {
                    int cin = g * cg + ic;
                    for (int i = 0; i < r; i++) {
                        int ih = oh * p.strideH() - p.padH() + i * p.dilationH();
                        if (ih < 0 || ih >= h) continue;
                        for (int j = 0; j < s; j++) {
                            int iw = ow * p.strideW() - p.padW() + j * p.dilationW();
                            if (iw < 0 || iw >= wd) continue;
                            acc[((oc * cg + ic) * r + i) * s + j] += gv * xa[xo + ((b * c + cin) * h + ih) * wd + iw];
                        }
                    }
                }
            }
        }
        for (int i = 0; i < acc.length; i++) da[dwo + i] = (float) acc[i];
        dv.commit();
    }
}
