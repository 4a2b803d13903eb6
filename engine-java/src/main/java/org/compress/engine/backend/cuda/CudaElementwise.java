// CUDA fill / copy / cast / scale / axpy: our elementwise kernels, cudaMemcpyAsync for copies.
package org.compress.engine.backend.cuda;

import org.bytedeco.cuda.global.cudart;
import org.compress.engine.ops.ElementwiseOps;
import org.compress.engine.tensor.BFloat16;
import org.compress.engine.tensor.Checks;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Float16;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

final class CudaElementwise implements ElementwiseOps, AutoCloseable {
    private final CudaBackend cuda;
    // gatherRows' index staging: two pinned buffers used in turn, each reused only after the event of its previous
    // copy (two lookups ago) completed; one device index buffer, safe to reuse because copy and gather share a stream.
    private final PinnedHostBuffer[] indexStaging = new PinnedHostBuffer[2];
    private final CudaEvent[] indexCopied = new CudaEvent[2];
    private Tensor deviceIndices;
    private int nextSlot;

    CudaElementwise(CudaBackend cuda) { this.cuda = cuda; }

    @Override public void fill(Tensor t, float value) {
        long s = cuda.stream().address();
        switch (t.dtype()) {
            case F32 -> Native.check(Native.Library.KERNEL, NativeKernels.fillF32(cuda.address(t), t.numel(), value, s), "fill_f32");
            case BF16 -> Native.check(Native.Library.KERNEL,
                    NativeKernels.fillU16(cuda.address(t), t.numel(), BFloat16.fromFloat(value), s), "fill_u16");
            case F16 -> Native.check(Native.Library.KERNEL,
                    NativeKernels.fillU16(cuda.address(t), t.numel(), Float16.fromFloat(value), s), "fill_u16");
            default -> {
                if (value != 0f) {
                    throw new UnsupportedOperationException("fill: only zero fills are supported for " + t.dtype() + ", found " + value);
                }
                Native.check(Native.Library.CUDA, cudart.cudaMemsetAsync(cuda.pointer(t), 0, t.bytes(), cuda.stream().handle()),
                        "cudaMemsetAsync");
            }
        }
    }

    @Override public void copy(Tensor src, Tensor dst) {
        if (src.dtype() != dst.dtype() || src.numel() != dst.numel()) {
            throw new ShapeMismatchException("copy: expected the same dtype and element count, found " + src + " -> " + dst);
        }
        Native.check(Native.Library.CUDA, cudart.cudaMemcpyAsync(cuda.pointer(dst), cuda.pointer(src), src.bytes(),
                cudart.cudaMemcpyDeviceToDevice, cuda.stream().handle()), "cudaMemcpyAsync(D2D)");
    }

    @Override public void cast(Tensor src, Tensor dst) {
        Checks.sameShape("cast", src, dst);
        if (src.dtype() == dst.dtype()) {
            copy(src, dst);
            return;
        }
        int kind;
        if (src.dtype() == DType.F32 && dst.dtype() == DType.BF16) kind = 0;
        else if (src.dtype() == DType.BF16 && dst.dtype() == DType.F32) kind = 1;
        else if (src.dtype() == DType.F32 && dst.dtype() == DType.F16) kind = 2;
        else if (src.dtype() == DType.F16 && dst.dtype() == DType.F32) kind = 3;
        else throw new ShapeMismatchException("cast: supported pairs are F32<->BF16 and F32<->F16, found " + src + " -> " + dst);
        Native.check(Native.Library.KERNEL, NativeKernels.cast(kind, cuda.address(src), cuda.address(dst), src.numel(),
                cuda.stream().address()), "cast");
    }

    @Override public void scale(Tensor x, float alpha) {
        Checks.dtype("scale x", x, DType.F32);
        Native.check(Native.Library.KERNEL, NativeKernels.scaleF32(cuda.address(x), x.numel(), alpha, cuda.stream().address()),
                "scale_f32");
    }

    @Override public void axpy(float alpha, Tensor x, Tensor y) {
        Checks.dtype("axpy x", x, DType.F32, DType.BF16);
        Checks.dtype("axpy y (the dtype of x)", y, x.dtype());
        Checks.sameShape("axpy", x, y);
        if (x.dtype() == DType.BF16) {
            Native.check(Native.Library.KERNEL, NnKernels.axpyBf16(x.numel(), alpha, cuda.address(x), cuda.address(y),
                    cuda.stream().address()), "axpy_bf16");
            return;
        }
        Native.check(Native.Library.KERNEL, NativeKernels.axpyF32(x.numel(), alpha, cuda.address(x), cuda.address(y),
                cuda.stream().address()), "axpy_f32");
    }

    @Override public long countNonFinite(Tensor x) {
        Checks.dtype("countNonFinite x", x, DType.F32);
        try (Tensor count = cuda.empty(DType.I32, 1)) {
            Native.check(Native.Library.KERNEL, LossKernels.countNonFinite(cuda.address(x), x.numel(), cuda.address(count),
                    cuda.stream().address()), "count_nonfinite");
            return cuda.download(count).cpuStorage().i32()[0];
        }
    }

    @Override public synchronized void gatherRows(Tensor table, int[] indices, Tensor out) {
        ElementwiseOps.checkGather(table, indices, out);
        int b = indices.length;
        if (b == 0) return;
        int slot = nextSlot;
        nextSlot ^= 1;
        if (indexCopied[slot] != null) indexCopied[slot].synchronize(); // long done: it was queued two lookups ago
        else indexCopied[slot] = new CudaEvent();
        if (indexStaging[slot] == null || indexStaging[slot].bytes() < 4L * b) {
            if (indexStaging[slot] != null) indexStaging[slot].close();
            indexStaging[slot] = new PinnedHostBuffer(4L * b);
        }
        if (deviceIndices == null || deviceIndices.dim(0) < b) {
            if (deviceIndices != null) deviceIndices.close();   // stream-ordered reuse through the caching allocator
            deviceIndices = cuda.empty(DType.I32, b);
        }
        indexStaging[slot].buffer().asIntBuffer().put(indices, 0, b);
        Tensor idx = deviceIndices.rows(0, b);
        cuda.copyAsync(indexStaging[slot], 0, idx, cuda.stream());
        indexCopied[slot].record(cuda.stream());
        Native.check(Native.Library.KERNEL, NativeKernels.gatherRowsF32(cuda.address(table), table.dim(0), table.dim(1),
                cuda.address(idx), b, cuda.address(out), cuda.stream().address()), "gather_rows_f32");
    }

    @Override public synchronized void close() {
        for (int i = 0; i < 2; i++) {
            if (indexStaging[i] != null) indexStaging[i].close();
            if (indexCopied[i] != null) indexCopied[i].close();
        }
        if (deviceIndices != null) deviceIndices.close();
    }
}
