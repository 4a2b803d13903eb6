// The CUDA backend: one device, one non-blocking compute stream that every op is queued on, a caching
// allocator, and the cuBLAS / cuDNN handles bound to that stream. Ops never synchronise the host;
// download(), toFloatArray() and synchronize() do.
package org.compress.engine.backend.cuda;

import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.cudnn;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.ShortPointer;
import org.bytedeco.javacpp.FloatPointer;
import org.compress.engine.backend.Backend;
import org.compress.engine.backend.BackendUnavailableException;
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
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public final class CudaBackend implements Backend {
    /** cuBLAS workspace we hand it, so it never allocates on its own (32 MiB suits Hopper). */
    private static final long CUBLAS_WORKSPACE_BYTES = 32L << 20;

    private final Device device;
    private final CudaDeviceInfo info;
    private final CudaStream stream;
    private final CachingAllocator allocator;
    private final cublasContext cublasHandle = new cublasContext();
    private final cudnnContext cudnnHandle = new cudnnContext();
    private final DeviceBuffer cublasWorkspace;
    private final RowMajorBlas blas;
    private final CudaElementwise elementwise;
    private final CudaGemm gemm;
    private final CudaNormalize normalize;
    private final CudaConvolution convolution;
    private final CompressLossOp compressLoss;
    private final InfoNceOp infoNce;
    private final MemoryBankOp memoryBank;
    private final CudaBatchNorm batchNorm;
    private final CudaPooling pooling;
    private final CudaActivation activation;
    private final CudaBias bias;
    private final CudaDropout dropout;
    private final CudaSgd sgd;
    private final CudaEma ema;
    private final CudaConvert convert;
    private boolean closed;

    private CudaBackend(int index, CudaDeviceInfo info) {
        this.device = Device.cuda(index);
        this.info = info;
        Native.check(Native.Library.CUDA, cudart.cudaSetDevice(index), "cudaSetDevice(" + index + ")");
        // Native resources in order; a failure part-way releases what was already made before it propagates.
        CudaStream s = new CudaStream();
        CachingAllocator a = null;
        DeviceBuffer workspace = null;
        boolean cublasMade = false, cudnnMade = false;
        try {
            a = new CachingAllocator(new CudaRawMemory(info.name()), device);
            Native.check(Native.Library.CUBLAS, cublas.cublasCreate_v2(cublasHandle), "cublasCreate");
            cublasMade = true;
            Native.check(Native.Library.CUBLAS, cublas.cublasSetStream_v2(cublasHandle, s.handle()), "cublasSetStream");
            workspace = a.allocate(CUBLAS_WORKSPACE_BYTES);
            Native.check(Native.Library.CUBLAS, cublas.cublasSetWorkspace_v2(cublasHandle,
                    DevicePointers.at(workspace.address()), CUBLAS_WORKSPACE_BYTES), "cublasSetWorkspace");
            Native.check(Native.Library.CUDNN, cudnn.cudnnCreate(cudnnHandle), "cudnnCreate");
            cudnnMade = true;
            Native.check(Native.Library.CUDNN, cudnn.cudnnSetStream(cudnnHandle, s.handle()), "cudnnSetStream");
        } catch (RuntimeException e) {
            if (cudnnMade) cudnn.cudnnDestroy(cudnnHandle);
            if (cublasMade) cublas.cublasDestroy_v2(cublasHandle);
            if (workspace != null) workspace.close();
            if (a != null) a.close();
            s.close();
            throw e;
        }
        this.stream = s;
        this.allocator = a;
        this.cublasWorkspace = workspace;
        this.blas = new RowMajorBlas(this);
        this.elementwise = new CudaElementwise(this);
        this.gemm = new CudaGemm(this);
        this.normalize = new CudaNormalize(this);
        this.convolution = new CudaConvolution(this);
        this.compressLoss = new CudaCompressLoss(this);
        this.infoNce = new CudaInfoNce(this);
        this.memoryBank = new CudaMemoryBank(this);
        this.batchNorm = new CudaBatchNorm(this);
        this.pooling = new CudaPooling(this);
        this.activation = new CudaActivation(this);
        this.bias = new CudaBias(this);
        this.dropout = new CudaDropout(this);
        this.sgd = new CudaSgd(this);
        this.ema = new CudaEma(this);
        this.convert = new CudaConvert(this);
    }

    /** Opens device {@code index}; throws BackendUnavailableException saying why CUDA cannot run here. */
    public static CudaBackend open(int index) {
        CudaProbe probe = CudaProbe.probe();
        if (!probe.available()) throw new BackendUnavailableException("CUDA backend unavailable: " + probe.reason());
        if (index < 0 || index >= probe.devices().size()) {
            throw new BackendUnavailableException("cuda:" + index + " requested but " + probe.devices().size()
                    + " CUDA device(s) are visible");
        }
        return new CudaBackend(index, probe.devices().get(index));
    }

    public CudaDeviceInfo info() { return info; }

    public CudaStream stream() { return stream; }

    public CachingAllocator allocator() { return allocator; }

    cublasContext cublas() { return cublasHandle; }

    cudnnContext cudnn() { return cudnnHandle; }

    RowMajorBlas blas() { return blas; }

    /** Device address of a tensor's first element, after checking it lives on this backend's device. */
    public long address(Tensor t) {
        if (!(t.storage() instanceof DeviceBuffer b) || !t.device().equals(device)) {
            throw new ShapeMismatchException("expected a tensor on " + device + ", found " + t);
        }
        return b.address() + t.offset() * t.dtype().bytes();
    }

    Pointer pointer(Tensor t) { return DevicePointers.at(address(t)); }

    @Override public String name() { return "cuda"; }

    @Override public Device device() { return device; }

    @Override public Tensor empty(DType dtype, MemoryFormat format, int... shape) {
        DeviceBuffer buffer = allocator.allocate(Tensor.numel(shape) * dtype.bytes());
        return new Tensor(buffer, 0, dtype, format, shape, true);
    }

    @Override public Tensor upload(Tensor host) {
        Tensor t = empty(host.dtype(), host.format(), host.shape());
        try (Pointer staged = stage(host)) {
            Native.check(Native.Library.CUDA, cudart.cudaMemcpyAsync(pointer(t), staged, host.bytes(),
                    cudart.cudaMemcpyHostToDevice, stream.handle()), "cudaMemcpyAsync(H2D)");
            stream.synchronize(); // the staging copy is freed when this block ends
        }
        return t;
    }

    @Override public Tensor download(Tensor t) {
        address(t);
        Tensor host = new Tensor(new CpuStorage(t.dtype(), t.numel()), 0, t.dtype(), t.format(), t.shape(), true);
        try (Pointer staged = stage(host)) {
            Native.check(Native.Library.CUDA, cudart.cudaMemcpyAsync(staged, pointer(t), t.bytes(),
                    cudart.cudaMemcpyDeviceToHost, stream.handle()), "cudaMemcpyAsync(D2H)");
            stream.synchronize();
            unstage(staged, host);
        }
        return host;
    }

    /** A native copy of a host tensor's elements (setup and test path; the loader uses PinnedHostBuffer). */
    private static Pointer stage(Tensor host) {
        CpuStorage s = host.cpuStorage();
        int off = (int) host.offset();
        int n = (int) host.numel();
        return switch (host.dtype()) {
            case F32 -> new FloatPointer(n).put(s.f32(), off, n);
            case BF16, F16 -> new ShortPointer(n).put(s.u16(), off, n);
            case I32 -> new IntPointer(n).put(s.i32(), off, n);
            case I64 -> new LongPointer(n).put(s.i64(), off, n);
            case U8 -> new BytePointer(n).put(s.u8(), off, n);
        };
    }

    private static void unstage(Pointer staged, Tensor host) {
        CpuStorage s = host.cpuStorage();
        int n = (int) host.numel();
        switch (host.dtype()) {
            case F32 -> ((FloatPointer) staged).get(s.f32(), 0, n);
            case BF16, F16 -> ((ShortPointer) staged).get(s.u16(), 0, n);
            case I32 -> ((IntPointer) staged).get(s.i32(), 0, n);
            case I64 -> ((LongPointer) staged).get(s.i64(), 0, n);
            case U8 -> ((BytePointer) staged).get(s.u8(), 0, n);
        }
    }

    /** Asynchronous copy from pinned host memory into a device tensor, on {@code on} (e.g. a loader stream). */
    public void copyAsync(PinnedHostBuffer src, long srcOffsetBytes, Tensor dst, CudaStream on) {
        if (srcOffsetBytes < 0 || srcOffsetBytes + dst.bytes() > src.bytes()) {
            throw new ShapeMismatchException("copyAsync: " + dst.bytes() + " bytes at offset " + srcOffsetBytes
                    + " exceed the pinned buffer's " + src.bytes());
        }
        Native.check(Native.Library.CUDA, cudart.cudaMemcpyAsync(pointer(dst), DevicePointers.at(src.address() + srcOffsetBytes),
                dst.bytes(), cudart.cudaMemcpyHostToDevice, on.handle()), "cudaMemcpyAsync(pinned H2D)");
    }

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

    @Override public void synchronize() { stream.synchronize(); }

    @Override public MemoryStats memoryStats() { return allocator.stats(); }

    @Override public void close() {
        if (closed) return;
        closed = true;
        try {
            stream.synchronize();
        } finally { // a sticky device error must not keep the handles and memory alive
            releaseAll();
        }
    }

    private void releaseAll() {
        elementwise.close();
        convolution.close();
        batchNorm.close();
        pooling.close();
        bias.close();
        cudnn.cudnnDestroy(cudnnHandle);
        cublas.cublasDestroy_v2(cublasHandle);
        cublasWorkspace.close();
        allocator.close();
        stream.close();
    }

    @Override public String toString() { return "CudaBackend(" + device + ", " + info.name() + ")"; }
}
