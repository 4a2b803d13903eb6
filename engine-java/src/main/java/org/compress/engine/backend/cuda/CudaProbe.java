// Can CUDA run here, and if not, exactly why. Made once by CudaProbe.probe(); never throws.
// Checks in order: the CUDA runtime loads, a driver and a device exist, cuBLAS and cuDNN load, and our
// native library loads and matches the runtime's major version. NCCL is reported but not required.
package org.compress.engine.backend.cuda;

import java.util.ArrayList;
import java.util.List;
import org.bytedeco.cuda.cudart.cudaDeviceProp;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.cudnn;
import org.bytedeco.cuda.global.nccl;
import org.bytedeco.javacpp.Loader;

public record CudaProbe(boolean available, String reason, int driverVersion, int runtimeVersion,
                        List<CudaDeviceInfo> devices, String cublasVersion, String cudnnVersion, String ncclVersion,
                        String nativeLibrary) {

    private static CudaProbe cached;

    public static synchronized CudaProbe probe() {
        if (cached == null) cached = run();
        return cached;
    }

    private static CudaProbe run() {
        try {
            Loader.load(cudart.class);
        } catch (Throwable t) {
            String m = rootMessage(t);
            if (m.contains("libcuda.so")) {
                return unavailable("no NVIDIA driver is installed (libcuda.so.1 not found), so no GPU can be used", 0, 0);
            }
            return unavailable("the CUDA runtime (libcudart.so.13) could not be loaded: " + m
                    + "; install CUDA 13 or put its lib folder on LD_LIBRARY_PATH", 0, 0);
        }
        int[] driver = {0};
        int[] runtime = {0};
        cudart.cudaDriverGetVersion(driver);
        cudart.cudaRuntimeGetVersion(runtime);
        int[] count = {0};
        int status = cudart.cudaGetDeviceCount(count);
        if (status != 0 || count[0] == 0) {
            String why = driver[0] == 0
                    ? "no NVIDIA driver is installed (libcuda.so.1 not found)"
                    : "cudaGetDeviceCount returned " + Native.cudaName(status) + " (" + Native.cudaString(status) + ")";
            cudart.cudaGetLastError();
            return unavailable("no usable GPU: " + why, driver[0], runtime[0]);
        }
        List<CudaDeviceInfo> devices = new ArrayList<>();
        for (int i = 0; i < count[0]; i++) {
            try (cudaDeviceProp p = new cudaDeviceProp()) {
                Native.check(Native.Library.CUDA, cudart.cudaGetDeviceProperties(p, i), "cudaGetDeviceProperties");
                devices.add(new CudaDeviceInfo(i, p.name().getString(), p.totalGlobalMem(), p.major(), p.minor(),
                        p.multiProcessorCount()));
            }
        }
        String cublasVersion;
        try {
            Loader.load(cublas.class);
            int[] v = {0};
            cublas.cublasGetVersion(v);
            cublasVersion = (v[0] / 10000) + "." + (v[0] % 10000) / 100 + "." + v[0] % 100;
        } catch (Throwable t) {
            return new CudaProbe(false, "cuBLAS (libcublas.so.13) could not be loaded: " + rootMessage(t), driver[0],
                    runtime[0], devices, "missing", "unknown", "unknown", "not loaded");
        }
        String cudnnVersion;
        try {
            Loader.load(cudnn.class);
            cudnnVersion = CudaVersions.formatCudnn(cudnn.cudnnGetVersion());
        } catch (Throwable t) {
            return new CudaProbe(false, "cuDNN 9 (libcudnn.so.9) could not be loaded: " + rootMessage(t), driver[0],
                    runtime[0], devices, cublasVersion, "missing", "unknown", "not loaded");
        }
        String ncclVersion;
        try {
            Loader.load(nccl.class);
            int[] v = {0};
            nccl.ncclGetVersion(v);
            ncclVersion = (v[0] / 10000) + "." + (v[0] % 10000) / 100 + "." + v[0] % 100;
        } catch (Throwable t) {
            ncclVersion = "not found (" + rootMessage(t) + ")";
        }
        try {
            String path = NativeLibrary.load();
            return new CudaProbe(true, "", driver[0], runtime[0], devices, cublasVersion, cudnnVersion, ncclVersion, path);
        } catch (Throwable t) {
            return new CudaProbe(false, t.getMessage(), driver[0], runtime[0], devices, cublasVersion, cudnnVersion,
                    ncclVersion, "not loaded");
        }
    }

    private static CudaProbe unavailable(String reason, int driver, int runtime) {
        return new CudaProbe(false, reason, driver, runtime, List.of(), "unknown", "unknown", "unknown", "not loaded");
    }

    /** The innermost message, which names the missing library in JavaCPP's errors. */
    static String rootMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) c = c.getCause();
        String m = c.getMessage();
        return m == null ? c.getClass().getSimpleName() : m;
    }
}
