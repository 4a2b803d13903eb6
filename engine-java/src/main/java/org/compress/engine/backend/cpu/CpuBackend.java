// The CPU backend: host arrays and plain-Java ops. It is the readable reference every GPU op is tested
// against, and the fallback where no GPU is usable.
package org.compress.engine.backend.cpu;

import org.compress.engine.backend.Backend;
import org.compress.engine.backend.MemoryStats;
import org.compress.engine.ops.CompressLossOp;
import org.compress.engine.ops.ActivationOp;
import org.compress.engine.ops.BatchNormOp;
import org.compress.engine.ops.BiasOp;
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
import org.compress.engine.tensor.CpuStorage;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Device;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;

public final class CpuBackend implements Backend {
    private final ElementwiseOps elementwise = new CpuElementwise();
    private final GemmOp gemm = new CpuGemm();
    private final NormalizeOp normalize = new CpuNormalize();
    private final CompressLossOp compressLoss = new CpuCompressLoss();
    private final InfoNceOp infoNce = new CpuInfoNce();
    private final MemoryBankOp memoryBank = new CpuMemoryBank();
    // im2col + blocked GEMM; CpuConvolution (the direct definition) is its oracle in the tests.
    private final ConvolutionOp convolution = new CpuGemmConvolution();
    private final BatchNormOp batchNorm = new CpuBatchNorm();
    private final PoolingOp pooling = new CpuPooling();
    private final ActivationOp activation = new CpuActivation();
    private final BiasOp bias = new CpuBias();
    private final DropoutOp dropout = new CpuDropout();
    private final SgdOp sgd = new CpuSgd();
    private final EmaOp ema = new CpuEma();
    private final ConvertOp convert = new CpuConvert();

    @Override public String name() { return "cpu"; }

    @Override public Device device() { return Device.CPU; }

    @Override public Tensor empty(DType dtype, MemoryFormat format, int... shape) {
        return new Tensor(new CpuStorage(dtype, Tensor.numel(shape)), 0, dtype, format, shape, true);
    }

    @Override public Tensor upload(Tensor host) {
        Tensor t = empty(host.dtype(), host.format(), host.shape());
        elementwise.copy(host, t);
        return t;
    }

    @Override public Tensor download(Tensor t) { return upload(t); }

    @Override public ElementwiseOps elementwise() { return elementwise; }

    @Override public GemmOp gemm() { return gemm; }

    @Override public NormalizeOp normalize() { return normalize; }

    @Override public ConvolutionOp convolution() { return convolution; }

    @Override public CompressLossOp compressLoss() { return compressLoss; }

    @Override public InfoNceOp infoNce() { return infoNce; }

    @Override public MemoryBankOp memoryBank() { return memoryBank; }
    @Override public BatchNormOp batchNorm() { return batchNorm; }

    @Override public PoolingOp pooling() { return pooling; }

    @Override public ActivationOp activation() { return activation; }

    @Override public BiasOp bias() { return bias; }

    @Override public DropoutOp dropout() { return dropout; }

    @Override public SgdOp sgd() { return sgd; }

    @Override public EmaOp ema() { return ema; }

    @Override public ConvertOp convert() { return convert; }

    @Override public void synchronize() { /* CPU ops complete before they return */ }

    @Override public MemoryStats memoryStats() { return MemoryStats.NONE; }

    @Override public void close() { /* nothing held */ }

    @Override public String toString() { return "CpuBackend"; }
}
