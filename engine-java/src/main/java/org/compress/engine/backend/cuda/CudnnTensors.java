// A cache of 4-d cuDNN tensor descriptors keyed by (shape, format, dtype): built once per shape, reused by every
// later call. A 2-d (N, C) tensor is described as (N, C, 1, 1), which has the same memory layout. F32 tensors
// are CUDNN_DATA_FLOAT, BF16 ones CUDNN_DATA_BFLOAT16; per-channel tensors are always FLOAT.
package org.compress.engine.backend.cuda;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.cuda.global.cudnn;
import org.compress.engine.tensor.DType;
import org.compress.engine.tensor.MemoryFormat;
import org.compress.engine.tensor.ShapeMismatchException;
import org.compress.engine.tensor.Tensor;

final class CudnnTensors implements AutoCloseable {
    private final Map<List<Object>, cudnnTensorStruct> cache = new HashMap<>();

    synchronized cudnnTensorStruct of(Tensor t) {
        int[] s = t.shape();
        int[] d = switch (s.length) {
            case 1 -> new int[] {1, s[0], 1, 1};
            case 2 -> new int[] {s[0], s[1], 1, 1};
            case 4 -> s;
            default -> throw new ShapeMismatchException("cuDNN: expected a 1-, 2- or 4-d tensor, found " + t);
        };
        return describe(d, t.format(), t.dtype());
    }

    /** The (1, C, 1, 1) descriptor of a per-channel tensor. */
    synchronized cudnnTensorStruct channels(int c) { return describe(new int[] {1, c, 1, 1}, MemoryFormat.CONTIGUOUS, DType.F32); }

    /** cuDNN's data type for a tensor dtype: FLOAT or BFLOAT16 (others are not used with cuDNN here). */
    static int dataType(DType dtype) {
        return switch (dtype) {
            case F32 -> cudnn.CUDNN_DATA_FLOAT;
            case BF16 -> cudnn.CUDNN_DATA_BFLOAT16;
            default -> throw new ShapeMismatchException("cuDNN: expected an F32 or BF16 tensor, found " + dtype);
        };
    }

    private cudnnTensorStruct describe(int[] d, MemoryFormat format, DType dtype) {
        List<Object> key = List.of(Arrays.toString(d), format, dtype);
        cudnnTensorStruct desc = cache.get(key);
        if (desc != null) return desc;
        desc = new cudnnTensorStruct();
        Native.check(Native.Library.CUDNN, cudnn.cudnnCreateTensorDescriptor(desc), "cudnnCreateTensorDescriptor");
        int layout = format == MemoryFormat.CHANNELS_LAST ? cudnn.CUDNN_TENSOR_NHWC : cudnn.CUDNN_TENSOR_NCHW;
        int status = cudnn.cudnnSetTensor4dDescriptor(desc, layout, dataType(dtype), d[0], d[1], d[2], d[3]);
        if (status != 0) {
            cudnn.cudnnDestroyTensorDescriptor(desc);
            Native.check(Native.Library.CUDNN, status, "cudnnSetTensor4dDescriptor" + Arrays.toString(d));
        }
        cache.put(key, desc);
        return desc;
    }

    @Override public synchronized void close() {
        cache.values().forEach(cudnn::cudnnDestroyTensorDescriptor);
        cache.clear();
    }
}
