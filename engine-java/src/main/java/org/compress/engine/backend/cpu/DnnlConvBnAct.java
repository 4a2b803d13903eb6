// Fast CPU eval-mode conv + batch norm + residual + activation: one oneDNN convolution (libcompress_cpu.so's
// ConvFused) with batch norm folded into its weights and bias (w * scale, shift - mean * scale; the scale as
// DnnlBatchNorm.forwardInference computes it), the residual and the activation as post-ops, so the output is written
// once instead of three times. Within a few ulps of the separate ops (DnnlOpsTest). F32 CHANNELS_LAST only.
package org.compress.engine.backend.cpu;

import org.compress.engine.ops.Activation;
import org.compress.engine.ops.Conv2dParams;
import org.compress.engine.ops.ConvBnActOp;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;

final class DnnlConvBnAct implements ConvBnActOp {
    private final int[] geom = new int[18];   // reused: a call allocates nothing
    private float[] scale = new float[0];

    @Override public boolean supports(Tensor x, Tensor w, Conv2dParams p) {
        return x.dtype() == DType.F32 && w.dtype() == DType.F32 && x.format() == MemoryFormat.CHANNELS_LAST;
    }

    @Override public synchronized void forwardInference(Tensor x, Tensor w, Conv2dParams p, Tensor gamma, Tensor beta,
                                                        Tensor runningMean, Tensor runningVar, float eps, Tensor residual,
                                                        Activation act, Tensor y) {
        ConvBnActOp.check(x, w, p, gamma, beta, runningMean, runningVar, residual, y);
        if (!supports(x, w, p) || y.format() != MemoryFormat.CHANNELS_LAST) {
            throw new UnsupportedOperationException("fused conv+batchnorm: expected F32 CHANNELS_LAST x and y, found " + x + " -> " + y);
        }
        int c = y.dim(1);
        if (scale.length < c) scale = new float[c];
        DnnlBatchNorm.inferenceScale(gamma, runningVar, eps, scale);
        DnnlConvolution.geometry(geom, x, w, y, p);
        DnnlNative.convForwardFused(geom, x.cpuStorage().f32(), (int) x.offset(), w.cpuStorage().f32(), (int) w.offset(),
                runningMean.cpuStorage().f32(), (int) runningMean.offset(), scale, 0, beta.cpuStorage().f32(), (int) beta.offset(),
                residual == null ? null : residual.cpuStorage().f32(), residual == null ? 0 : (int) residual.offset(),
                DnnlActivation.code(act), y.cpuStorage().f32(), (int) y.offset());
    }
}
