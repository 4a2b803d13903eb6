// The CPU backend: host arrays and plain-Java ops. It is the readable reference every GPU op is tested
// against, and the fallback where no GPU is usable. CpuBackend.fast() swaps in the native oneDNN/OpenMP ops
// (Dnnl*: convolution, GEMM, batch norm, activations, eval-mode conv + BN + activation fusion, the CompRess and
// InfoNCE losses; F32 only, BF16 stays on the reference) where libcompress_cpu.so loads, with CHANNELS_LAST networks
// (Nhwc*: pooling and bias in NHWC);
// new CpuBackend() is always the plain-Java reference.
package org.compress.engine.backend.cpu;

import org.compress.engine.backend.Backend;
import org.compress.engine.backend.MemoryStats;
import org.compress.engine.ops.CompressLossOp;
import org.compress.engine.ops.ActivationOp;
import org.compress.engine.ops.BatchNormOp;
import org.compress.engine.ops.BiasOp;
import org.compress.engine.ops.ConvertOp;
import org.compress.engine.ops.ConvBnActOp;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public final class CpuBackend implements Backend {
    private static final Logger log = LoggerFactory.getLogger(CpuBackend.class);
    private static boolean choiceLogged;

    private final ElementwiseOps elementwise;
    private final GemmOp gemm;
    private final NormalizeOp normalize = new CpuNormalize();
    private final CompressLossOp compressLoss;
    private final InfoNceOp infoNce;
    private final MemoryBankOp memoryBank = new CpuMemoryBank();
    // reference: im2col + blocked GEMM (CpuGemmConvolution; CpuConvolution, the direct definition, is its oracle)
    private final ConvolutionOp convolution;
    private final BatchNormOp batchNorm;
    private final ConvBnActOp convBnAct;   // eval-mode fusion: oneDNN post-ops on the fast path, none on the reference
    private final PoolingOp pooling;
    private final ActivationOp activation;
    private final BiasOp bias;
    private final boolean fast;
    private final DropoutOp dropout = new CpuDropout();
    private final SgdOp sgd = new CpuSgd();
    private final EmaOp ema = new CpuEma();
    private final ConvertOp convert = new CpuConvert();

    /** The plain-Java reference backend. */
    public CpuBackend() { this(false); }

    private CpuBackend(boolean fast) {
        this.fast = fast;
        GemmOp refGemm = new CpuGemm();
        ConvolutionOp refConv = new CpuGemmConvolution();
        BatchNormOp refBn = new CpuBatchNorm();
        ActivationOp refAct = new CpuActivation();
        elementwise = fast ? new DnnlElementwise(new CpuElementwise()) : new CpuElementwise();
        gemm = fast ? new DnnlGemm(refGemm) : refGemm;
        convolution = fast ? new DnnlConvolution(refConv) : refConv;
        batchNorm = fast ? new DnnlBatchNorm(refBn) : refBn;
        convBnAct = fast ? new DnnlConvBnAct() : ConvBnActOp.NONE;
        activation = fast ? new DnnlActivation(refAct) : refAct;
        pooling = fast ? new NhwcPooling(new CpuPooling()) : new CpuPooling();
        bias = fast ? new NhwcBias(new CpuBias()) : new CpuBias();
        compressLoss = fast ? new DnnlCompressLoss(new CpuCompressLoss()) : new CpuCompressLoss();
        infoNce = fast ? new DnnlInfoNce(new CpuInfoNce()) : new CpuInfoNce();
    }

    /** The fast backend where libcompress_cpu.so loads, else the reference (the reason is logged once). */
    public static CpuBackend fast() {
        if (DnnlNative.available()) {
            synchronized (CpuBackend.class) {
                if (!choiceLogged) log.info("CPU backend with its native fast path: {}", DnnlNative.describe());
                choiceLogged = true;
            }
            return new CpuBackend(true);
        }
        synchronized (CpuBackend.class) {
            if (!choiceLogged) log.info("CPU backend without its native fast path (plain Java): {}", DnnlNative.reason());
            choiceLogged = true;
        }
        return new CpuBackend(false);
    }

    /**
     * CHANNELS_LAST (NHWC) for F32 networks on the fast backend: oneDNN's convolutions take NHWC as it is, so
     * activations cross no reorder inside the network; the reference (and BF16) computes NCHW.
     */
    @Override public MemoryFormat preferredFormat(DType activations) {
        return fast && activations == DType.F32 ? MemoryFormat.CHANNELS_LAST : MemoryFormat.CONTIGUOUS;
    }

    /** Whether this backend runs the native oneDNN ops. */
    public boolean isFast() { return fast; }

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

    @Override public ConvBnActOp convBnAct() { return convBnAct; }

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

    @Override public String toString() { return fast ? "CpuBackend(" + DnnlNative.describe() + ")" : "CpuBackend(reference)"; }
}
