// Settings of the GPU data path beyond LoaderConfig's: device slots (batches in flight between the pipeline and
// the training step), output type, and how nvJPEG's hardware decoder is used.
package org.compress.engine.data.gpu;

import org.compress.engine.tensor.DType;

/**
 * @param slots           device output buffers, >= 2 (one being filled while the step reads another)
 * @param output          F32 or BF16 batches
 * @param hardwareDecoder use the NVJPG engines when the GPU has them
 * @param hardwareShare   fraction of hardware-capable images sent to them (the rest go to the hybrid decoder)
 */
public record GpuPipelineOptions(int slots, DType output, boolean hardwareDecoder, double hardwareShare) {
    public GpuPipelineOptions {
        if (slots < 2) throw new IllegalArgumentException("gpu pipeline: expected >= 2 slots (one filling, one in use), found " + slots);
        if (output != DType.F32 && output != DType.BF16) throw new IllegalArgumentException("gpu pipeline: expected F32 or BF16 output, found " + output);
        if (!(hardwareShare >= 0 && hardwareShare <= 1)) {
            throw new IllegalArgumentException("gpu pipeline: expected a hardware share in [0, 1], found " + hardwareShare);
        }
    }

    /** 2 slots, F32, hardware decoder for every image it supports. */
    public static GpuPipelineOptions defaults() { return new GpuPipelineOptions(2, DType.F32, true, 1.0); }

    public GpuPipelineOptions slots(int n) { return new GpuPipelineOptions(n, output, hardwareDecoder, hardwareShare); }

    public GpuPipelineOptions output(DType t) { return new GpuPipelineOptions(slots, t, hardwareDecoder, hardwareShare); }

    public GpuPipelineOptions hardware(boolean on, double share) { return new GpuPipelineOptions(slots, output, on, share); }
}
