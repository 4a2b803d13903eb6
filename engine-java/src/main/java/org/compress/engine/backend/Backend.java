// A compute backend: makes tensors on its device and hands out the ops that run there.
// CpuBackend (plain Java, the reference) and CudaBackend (cuBLAS, cuDNN and our kernels) implement it;
// Backends.select() is the one place that chooses between them.
package org.compress.engine.backend;

import org.compress.engine.ops.CompressLossOp;
import org.compress.engine.ops.ActivationOp;
import org.compress.engine.ops.BatchNormOp;
import org.compress.engine.ops.BiasOp;
import org.compress.engine.ops.ConvBnActOp;
import org.compress.engine.ops.ConvertOp;
import org.compress.engine.ops.ConvolutionOp;
import org.compress.engine.ops.DropoutOp;
import org.compress.engine.ops.EmaOp;
import org.compress.engine.ops.ElementwiseOps;
import org.compress.engine.ops.GemmOp;
import org.compress.engine.ops.InfoNceOp;
import org.compress.engine.ops.MemoryBankOp;
import org.compress.engine.ops.NormalizeOp;
import org.compress.engine.ops.PoolingOp;
import org.compress.engine.ops.SgdOp;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Device;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;

public interface Backend extends AutoCloseable {
    String name();

    Device device();

    /** Uninitialised tensor (contents undefined) in the CONTIGUOUS format. */
    default Tensor empty(DType dtype, int... shape) { return empty(dtype, MemoryFormat.CONTIGUOUS, shape); }

    Tensor empty(DType dtype, MemoryFormat format, int... shape);

    default Tensor zeros(DType dtype, int... shape) {
        Tensor t = empty(dtype, shape);
        elementwise().fill(t, 0f);
        return t;
    }

    /** The memory format networks on this backend should keep 4-d activations in, for the given activation dtype. */
    default MemoryFormat preferredFormat(DType activations) { return MemoryFormat.CONTIGUOUS; }

    /** Copies a host tensor of any dtype to this backend (same shape, dtype and format). */
    Tensor upload(Tensor host);

    default Tensor upload(float[] data, int... shape) { return upload(Tensor.cpu(data, shape)); }

    /** Copies a tensor of this backend to a new host tensor (waits for pending work). */
    Tensor download(Tensor t);

    /** Reads a floating tensor as floats (BF16/F16 widened), waiting for pending work. */
    default float[] toFloatArray(Tensor t) {
        Tensor host = t.device().isCuda() ? download(t) : t;
        return HostData.toFloats(host);
    }

    ElementwiseOps elementwise();

    GemmOp gemm();

    NormalizeOp normalize();

    ConvolutionOp convolution();

    CompressLossOp compressLoss();

    InfoNceOp infoNce();

    MemoryBankOp memoryBank();
    // Layer and training ops (org.compress.engine.nn and optim build on these).

    BatchNormOp batchNorm();

    /** Eval-mode conv + batch norm + residual + activation in one pass, where this backend can (ConvBnActOp.NONE: nowhere). */
    default ConvBnActOp convBnAct() { return ConvBnActOp.NONE; }

    PoolingOp pooling();

    ActivationOp activation();

    BiasOp bias();

    DropoutOp dropout();

    SgdOp sgd();

    EmaOp ema();

    /** dtype (F32 <-> BF16) and memory-format (NCHW <-> NHWC) conversion: BF16-mixed and channels-last networks. */
    ConvertOp convert();

    /** Waits until all work queued on this backend's stream is done. */
    void synchronize();

    MemoryStats memoryStats();

    @Override void close();
}
