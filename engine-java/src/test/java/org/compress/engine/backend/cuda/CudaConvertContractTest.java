// What CudaConvert hands the conversion kernels, checkable without a GPU: the flag bits equal the kConvert*
// constants in kernels/nn_kernels.cuh, and (C, HW) are dimension 1 and the plane of a 4-d tensor, (1, 1) else.
package org.compress.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.Tensor;
import org.junit.jupiter.api.Test;

class CudaConvertContractTest {
    final CpuBackend cpu = new CpuBackend();

    static Map<String, Integer> kernelConstants() throws Exception {
        Path header = Path.of("..", "kernels", "nn_kernels.cuh");
        if (!Files.exists(header)) header = Path.of("kernels", "nn_kernels.cuh");
        Matcher m = Pattern.compile("constexpr int (kConvert\\w+) = (\\d+);").matcher(Files.readString(header));
        Map<String, Integer> out = new HashMap<>();
        while (m.find()) out.put(m.group(1), Integer.parseInt(m.group(2)));
        return out;
    }

    @Test void flagsAndDimensionsMatchTheKernelContract() throws Exception {
        Map<String, Integer> k = kernelConstants();
        assertEquals(4, k.size(), "kConvert* constants in nn_kernels.cuh: " + k);
        Tensor f32 = cpu.empty(DType.F32, 2, 3, 4, 5), bf16Nhwc = cpu.empty(DType.BF16, MemoryFormat.CHANNELS_LAST, 2, 3, 4, 5);
        Tensor bf16 = cpu.empty(DType.BF16, 2, 3, 4, 5), f32Nhwc = cpu.empty(DType.F32, MemoryFormat.CHANNELS_LAST, 2, 3, 4, 5);
        assertEquals(k.get("kConvertTargetBf16") | k.get("kConvertTargetNhwc"), CudaConvert.flags(f32, bf16Nhwc));
        assertEquals(k.get("kConvertSourceBf16") | k.get("kConvertSourceNhwc"), CudaConvert.flags(bf16Nhwc, f32));
        assertEquals(k.get("kConvertSourceBf16") | k.get("kConvertTargetNhwc"), CudaConvert.flags(bf16, f32Nhwc));
        assertEquals(0, CudaConvert.flags(f32, f32));
        assertArrayEquals(new long[] {3, 20}, CudaConvert.channelsAndPlane(f32));
        assertArrayEquals(new long[] {1, 1}, CudaConvert.channelsAndPlane(cpu.empty(DType.F32, 7, 9)));
        assertArrayEquals(new long[] {1, 20}, CudaConvert.channelsAndPlane(cpu.empty(DType.F32, 0, 0, 4, 5)), "no zero divisor for an empty tensor");
    }
}
