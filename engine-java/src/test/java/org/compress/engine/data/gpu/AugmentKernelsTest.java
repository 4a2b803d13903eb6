// The augmentation kernels on the GPU against the CPU transforms, on identical decoded input (the images are
// uploaded as they are, so JPEG decoder differences play no part; NvJpegDecoderTest covers the decode).
// Tolerance 1e-5 absolute on normalised values (|x| < 2.7): the kernels round every operation like the Java
// code (no fused multiply-adds, IEEE division), so F32 results should agree to the last bit but for the contrast
// mean (a double sum in another order) -- the host emulation shows them bitwise equal -- and the margin covers
// that plus anything the device's libm does differently. BF16: the rounded F32 reference, one bf16 ulp (2^-7).
// Needs a GPU (skips with the reason otherwise); NOT YET RUN on one.
package org.compress.engine.data.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.compress.engine.backend.HostData;
import org.compress.engine.backend.cuda.CudaBackend;
import org.compress.engine.backend.cuda.PinnedHostBuffer;
import org.compress.engine.tensor.BFloat16;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.Tensor;
import org.compress.engine.testing.Close;
import org.compress.engine.testing.GpuTest;
import org.junit.jupiter.api.Test;

@GpuTest
class AugmentKernelsTest {
    static final double ATOL = 1e-5;

    static float[] runOnGpu(CudaBackend gpu, AugmentCases.Case c, DType out, boolean twice) {
        Tensor host = Tensor.cpuZeros(DType.U8, (int) c.imageBytes());
        byte[] blob = c.imageBlob();
        System.arraycopy(blob, 0, host.cpuStorage().u8(), 0, blob.length);
        try (Tensor images = gpu.upload(host);
             Tensor output = gpu.empty(out, c.samples(), 3, c.outH(), c.outW());
             GpuAugmenter aug = new GpuAugmenter(gpu, c.outH(), c.outW(), c.normalize(), out)) {
            AugmentJobs jobs = c.jobs(gpu.address(images));
            try (PinnedHostBuffer staging = new PinnedHostBuffer(jobs.uploadBytes())) {
                aug.run(jobs, staging, output, gpu.stream());
                gpu.synchronize();
                if (twice) {
                    long raw = gpu.memoryStats().rawAllocations();
                    aug.run(jobs, staging, output, gpu.stream());
                    gpu.synchronize();
                    assertEquals(raw, gpu.memoryStats().rawAllocations(), c.name() + ": a second identical batch must allocate nothing");
                }
            }
            try (Tensor back = gpu.download(output)) {
                return HostData.toFloats(back);
            }
        }
    }

    static float[] written(AugmentCases.Case c, float[] all) {
        return AugmentEmulationTest.slots(all, c.written(), c.sampleFloats());
    }

    @Test void f32MatchesTheCpuTransforms() {
        try (CudaBackend gpu = CudaBackend.open(0)) {
            for (AugmentCases.Case c : AugmentCases.all()) {
                float[] actual = written(c, runOnGpu(gpu, c, DType.F32, c.name().equals("mocov2")));
                Close.assertFiniteNonZero(c.name(), actual);
                Close.assertClose(c.name() + " (GPU, F32)", actual, written(c, c.expected()), ATOL, 0);
            }
        }
    }

    @Test void bf16IsTheRoundedReference() {
        try (CudaBackend gpu = CudaBackend.open(0)) {
            AugmentCases.Case c = AugmentCases.custom();
            float[] expected = c.expected(), rounded = new float[expected.length];
            for (int i = 0; i < expected.length; i++) rounded[i] = BFloat16.round(expected[i]);
            Close.assertClose("custom (GPU, BF16)", runOnGpu(gpu, c, DType.BF16, false), rounded, 1e-6, 1.0 / 128);
        }
    }
}
