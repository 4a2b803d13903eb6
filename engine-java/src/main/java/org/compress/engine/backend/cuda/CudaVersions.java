// CUDA's packed version numbers (12040 -> "12.4") and cuDNN's (91900 -> "9.19.0").
package org.compress.engine.backend.cuda;

public final class CudaVersions {
    private CudaVersions() {}

    public static String format(int packed) {
        if (packed <= 0) return "none";
        return (packed / 1000) + "." + (packed % 1000) / 10;
    }

    public static String formatCudnn(long packed) {
        if (packed <= 0) return "none";
        return (packed / 10000) + "." + (packed % 10000) / 100 + "." + packed % 100;
    }
}
