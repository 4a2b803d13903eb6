// CPU reference 2-d convolution: the direct seven-loop definition with double accumulation.
package org.compress.engine.backend.cpu;

import org.compress.engine.ops.Conv2dParams;
import org.compress.engine.ops.ConvolutionOp;
import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.Tensor;

final class CpuConvolution implements ConvolutionOp {
    @Override public void forward(Tensor x, Tensor w, Tensor bias, Tensor y, Conv2dParams p) {
        ConvolutionOp.checkForward(x, w, bias, y, p);
        Checks.contiguous("conv2d x (CPU)", x);
        Checks.contiguous("conv2d y (CPU)", y);
        float[] xa = x.cpuStorage().f32(), wa = w.cpuStorage().f32(), ya = y.cpuStorage().f32();
        float[] ba = bias == null ? null : bias.cpuStorage().f32();
        int xo = (int) x.offset(), wo = (int) w.offset(), yo = (int) y.offset(), bo = bias == null ? 0 : (int) bias.offset();
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
    }
}
