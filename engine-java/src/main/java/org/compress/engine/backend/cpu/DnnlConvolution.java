// Fast CPU convolution: oneDNN's forward, backward-data and backward-filter primitives (created once per shape
// in libcompress_cpu.so and cached there with their reorder buffers). F32 only. CHANNELS_LAST activations (with
// KRSC or KCRS weights) run in NHWC as they are, without reorders; NCHW ones are reordered to oneDNN's blocked
// layout and back at every call (PyTorch's way). BF16 (the exact emulation the GPU is tested against) goes to the
// plain-Java convolution.
package org.compress.engine.backend.cpu;

import org.compress.engine.ops.Conv2dParams;
import org.compress.engine.ops.ConvolutionOp;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;

final class DnnlConvolution implements ConvolutionOp {
    private final ConvolutionOp reference;
    private final int[] geom = new int[18];   // reused: a call allocates nothing

    DnnlConvolution(ConvolutionOp reference) { this.reference = reference; }

    /** F32 operands, and x/dx in the layout of y/dy (the reference takes NCHW only). */
    private static boolean fast(Tensor x, Tensor w, Tensor y) {
        return x.dtype() == DType.F32 && w.dtype() == DType.F32 && y.dtype() == DType.F32 && x.format() == y.format();
    }

    private void geometry(Tensor x, Tensor w, Tensor y, Conv2dParams p) { geometry(geom, x, w, y, p); }

    /** The native cache key (libcompress_cpu.so's Geometry) of a forward x -> y with w. */
    static void geometry(int[] geom, Tensor x, Tensor w, Tensor y, Conv2dParams p) {
        geom[0] = x.dim(0); geom[1] = x.dim(1); geom[2] = x.dim(2); geom[3] = x.dim(3);
        geom[4] = w.dim(0); geom[5] = w.dim(2); geom[6] = w.dim(3); geom[7] = y.dim(2); geom[8] = y.dim(3);
        geom[9] = p.strideH(); geom[10] = p.strideW(); geom[11] = p.padH(); geom[12] = p.padW();
        geom[13] = p.dilationH(); geom[14] = p.dilationW(); geom[15] = p.groups();
        geom[16] = x.format() == MemoryFormat.CHANNELS_LAST ? 1 : 0;
        geom[17] = w.format() == MemoryFormat.CHANNELS_LAST ? 1 : 0;
    }

    @Override public synchronized void forward(Tensor x, Tensor w, Tensor bias, Tensor y, Conv2dParams p) {
        ConvolutionOp.checkForward(x, w, bias, y, p);
        if (!fast(x, w, y)) {
            reference.forward(x, w, bias, y, p);
            return;
        }
        geometry(x, w, y, p);
        DnnlNative.convForward(geom, x.cpuStorage().f32(), (int) x.offset(), w.cpuStorage().f32(), (int) w.offset(),
                bias == null ? null : bias.cpuStorage().f32(), bias == null ? 0 : (int) bias.offset(),
                y.cpuStorage().f32(), (int) y.offset());
    }

    @Override public synchronized void backwardData(Tensor dy, Tensor w, Tensor dx, Conv2dParams p) {
        ConvolutionOp.checkBackwardData(dy, w, dx, p);
        if (!fast(dy, w, dx)) {
            reference.backwardData(dy, w, dx, p);
            return;
        }
        geometry(dx, w, dy, p);
        DnnlNative.convBackwardData(geom, dy.cpuStorage().f32(), (int) dy.offset(), w.cpuStorage().f32(), (int) w.offset(),
                dx.cpuStorage().f32(), (int) dx.offset());
    }

    @Override public synchronized void backwardFilter(Tensor x, Tensor dy, Tensor dw, Conv2dParams p) {
        ConvolutionOp.checkBackwardFilter(x, dy, dw, p);
        if (!fast(x, dy, dw)) {
            reference.backwardFilter(x, dy, dw, p);
            return;
        }
        geometry(x, dw, dy, p);
        DnnlNative.convBackwardFilter(geom, x.cpuStorage().f32(), (int) x.offset(), dy.cpuStorage().f32(), (int) dy.offset(),
                dw.cpuStorage().f32(), (int) dw.offset());
    }
}
