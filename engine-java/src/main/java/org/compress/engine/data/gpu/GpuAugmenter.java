// Runs a batch of AugmentJobs on the GPU: writes the packed jobs into the caller's pinned staging buffer, copies
// them up and queues the augmentation passes (kernels/augment.cu) on the caller's stream. Owns the device
// workspace (job upload, scratch, contrast partial sums, BF16 stage), which only grows: a steady epoch allocates
// nothing. Every use is ordered on one stream; growing synchronises that stream first. UNVERIFIED without a GPU.
package org.compress.engine.data.gpu;

import org.bytedeco.cuda.global.cudart;
import org.compress.engine.backend.cuda.AugmentKernels;
import org.compress.engine.backend.cuda.CudaBackend;
import org.compress.engine.backend.cuda.CudaStream;
import org.compress.engine.backend.cuda.DeviceBuffer;
import org.compress.engine.backend.cuda.Native;
import org.compress.engine.backend.cuda.PinnedHostBuffer;
import org.compress.engine.data.transforms.Normalize;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

public final class GpuAugmenter implements AutoCloseable {
    private final CudaBackend backend;
    private final int outH, outW;
    private final float[] mean = new float[3], std = new float[3];
    private final DType outType;
    private DeviceBuffer upload, scratch, partials, stage;
    private boolean closed;

    public GpuAugmenter(CudaBackend backend, GpuRecipe recipe, DType outType) {
        this(backend, recipe.height(), recipe.width(), recipe.normalize(), outType);
    }

    /** For outH x outW outputs normalised by `normalize` (1 or 3 values), written as outType (F32 or BF16). */
    public GpuAugmenter(CudaBackend backend, int outH, int outW, Normalize normalize, DType outType) {
        if (outType != DType.F32 && outType != DType.BF16) {
            throw new IllegalArgumentException("augmenter: expected F32 or BF16 output, found " + outType);
        }
        if (outH < 1 || outW < 1) throw new IllegalArgumentException("augmenter: expected an output size >= 1, found " + outH + "x" + outW);
        float[] m = normalize.mean(), s = normalize.std();
        if (m.length != 1 && m.length != 3) {
            throw new IllegalArgumentException("augmenter: expected 1 or 3 normalize values for RGB, found " + m.length);
        }
        if (AugmentKernels.jobBytes() != AugmentJobs.JOB_BYTES || AugmentKernels.maxBlurSize() != AugmentJobs.MAX_BLUR) {
            throw new IllegalStateException("libcompress_native's AugmentJob is " + AugmentKernels.jobBytes() + " bytes (max blur "
                    + AugmentKernels.maxBlurSize() + "), AugmentJobs expects " + AugmentJobs.JOB_BYTES + " (max blur "
                    + AugmentJobs.MAX_BLUR + "): rebuild the native library");
        }
        this.backend = backend;
        this.outH = outH;
        this.outW = outW;
        this.outType = outType;
        for (int c = 0; c < 3; c++) {
            mean[c] = m[m.length == 1 ? 0 : c];
            std[c] = s[s.length == 1 ? 0 : c];
        }
    }

    public DType outType() { return outType; }

    /**
     * Queues the jobs on {@code stream}, writing {@code out} ([N, 3, outH, outW] of outType). {@code staging} must
     * hold jobs.uploadBytes() and stay untouched until the stream has passed this point (record an event).
     */
    public void run(AugmentJobs jobs, PinnedHostBuffer staging, Tensor out, CudaStream stream) {
        if (closed) throw new IllegalStateException("augmenter used after close()");
        int[] shape = out.shape();
        if (shape.length != 4 || shape[1] != 3 || shape[2] != outH || shape[3] != outW || out.dtype() != outType) {
            throw new ShapeMismatchException("augment: expected an output [N, 3, " + outH + ", " + outW + "] of " + outType
                    + ", found " + out);
        }
        if (jobs.outHeight() != outH || jobs.outWidth() != outW) {
            throw new ShapeMismatchException("augment: jobs for " + jobs.outHeight() + "x" + jobs.outWidth() + " outputs, this augmenter makes "
                    + outH + "x" + outW);
        }
        if (jobs.maxOutIndex() >= shape[0]) {
            throw new ShapeMismatchException("augment: a job writes sample " + jobs.maxOutIndex() + " of an output with " + shape[0]);
        }
        long bytes = jobs.uploadBytes();
        if (staging.bytes() < bytes) {
            throw new IllegalArgumentException("augment: the pinned staging buffer holds " + staging.bytes() + " bytes, the jobs need " + bytes);
        }
        if (jobs.jobCount() == 0) return;
        long outAddress = backend.address(out);
        jobs.write(staging.buffer());
        upload = ensure(upload, bytes, stream);
        Native.check(Native.Library.CUDA, cudart.cudaMemcpyAsync(Addresses.at(upload.address()), Addresses.at(staging.address()),
                bytes, cudart.cudaMemcpyHostToDevice, stream.handle()), "cudaMemcpyAsync(augment jobs H2D)");
        scratch = ensure(scratch, Math.max(4, 4 * jobs.scratchFloats()), stream);
        partials = ensure(partials, AugmentKernels.partialsBytes(jobs.jobCount(), outH, outW), stream);
        long stageAddress = outAddress;
        if (outType == DType.BF16) {
            stage = ensure(stage, 4L * out.numel(), stream);
            stageAddress = stage.address();
        }
        long base = upload.address();
        Native.check(Native.Library.KERNEL, AugmentKernels.augmentBatch(base, jobs.jobCount(), jobs.maxCropHeight(), outH, outW,
                base + jobs.finishOffset(), jobs.finishCount(), base + jobs.blurOffset(), jobs.blurCount(), jobs.maxBlurSize(),
                base + jobs.tapsOffset(), mean[0], mean[1], mean[2], std[0], std[1], std[2], outType == DType.BF16 ? 1 : 0,
                stageAddress, outAddress, scratch.address(), partials.address(), stream.address()),
                "augmentBatch(" + jobs.jobCount() + " jobs, " + outH + "x" + outW + ")");
    }

    /** A buffer of at least `bytes`: the current one, or (after the stream drains) a new one 25% larger. */
    private DeviceBuffer ensure(DeviceBuffer current, long bytes, CudaStream stream) {
        if (current != null && current.bytes() >= bytes) return current;
        if (current != null) {
            stream.synchronize();
            current.close();
        }
        return backend.allocator().allocate(current == null ? bytes : Math.max(bytes, current.bytes() + current.bytes() / 4));
    }

    /** Frees the workspace; the stream that used it must have been synchronised. */
    @Override public void close() {
        if (closed) return;
        closed = true;
        for (DeviceBuffer b : new DeviceBuffer[] {upload, scratch, partials, stage}) if (b != null) b.close();
    }
}
