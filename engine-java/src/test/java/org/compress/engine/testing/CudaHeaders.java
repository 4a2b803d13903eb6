// Where the CUDA headers are, for the tests that compile kernels/ with g++ against the emulation (no nvcc or GPU
// needed, only the headers): $CUDA_HOME/include, /usr/local/cuda/include, or the include folder beside an nvcc on PATH.
package org.compress.engine.testing;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

public final class CudaHeaders {
    private CudaHeaders() {}

    /** The first folder holding cuda_runtime_api.h and cuda_bf16.h, or null when there is none. */
    public static Path include() {
        List<Path> candidates = new ArrayList<>();
        String home = System.getenv("CUDA_HOME");
        if (home != null) candidates.add(Path.of(home, "include"));
        candidates.add(Path.of("/usr/local/cuda/include"));
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(d, "nvcc"))) candidates.add(Path.of(d).getParent().resolve("include"));
        }
        for (Path c : candidates) if (Files.exists(c.resolve("cuda_runtime_api.h")) && Files.exists(c.resolve("cuda_bf16.h"))) return c;
        return null;
    }
}
