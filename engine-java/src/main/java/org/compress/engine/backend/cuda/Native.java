// The one check() for native status codes (CUDA runtime, cuBLAS, cuDNN, NCCL, nvJPEG, our kernels): a non-zero
// status becomes a typed exception naming the call, the status and, for our kernels, engine-native's file:line.
package org.compress.engine.backend.cuda;

import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.cudnn;

public final class Native {
    public enum Library { CUDA, CUBLAS, CUDNN, NCCL, KERNEL, NVJPEG }

    private Native() {}

    public static void check(Library library, int status, String call) {
        if (status == 0) return;
        switch (library) {
            case CUDA -> throw new CudaException("CUDA runtime", call, status, cudaName(status), cudaString(status));
            case KERNEL -> throw new CudaException("compress_native", call, status, cudaName(status),
                    cudaString(status) + " at " + NativeKernels.lastErrorWhere());
            case CUBLAS -> throw new CublasException(call, status, cublas.cublasGetStatusName(status).getString(),
                    cublas.cublasGetStatusString(status).getString());
            case CUDNN -> throw new CudnnException(call, status, "cudnnStatus " + status,
                    cudnn.cudnnGetErrorString(status).getString());
            case NCCL -> throw new CudaException("NCCL", call, status, "ncclResult " + status, null);
            case NVJPEG -> throw new NvJpegException(call, status);
        }
    }

    static String cudaName(int status) {
        try {
            return cudart.cudaGetErrorName(status).getString();
        } catch (Throwable t) {
            return "cudaError " + status;
        }
    }

    static String cudaString(int status) {
        try {
            return cudart.cudaGetErrorString(status).getString();
        } catch (Throwable t) {
            return "";
        }
    }
}
