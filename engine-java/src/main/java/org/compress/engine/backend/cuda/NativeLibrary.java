// Finds and loads libcompress_native.so: from -Dcompress.native.library / $COMPRESS_NATIVE_LIBRARY if set,
// else from the engine jar (linux-x86_64/), extracted through JavaCPP's cache. The CUDA runtime is loaded
// first through the bytedeco bridge so our library's libcudart.so.13 dependency resolves to the same copy.
package org.compress.engine.backend.cuda;

import java.io.File;
import java.net.URL;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.Loader;

public final class NativeLibrary {
    public static final String PROPERTY = "compress.native.library";
    public static final String ENV = "COMPRESS_NATIVE_LIBRARY";
    static final String RESOURCE = "/linux-x86_64/libcompress_native.so";

    private static String loadedFrom;
    private static String failure;

    private NativeLibrary() {}

    /** Loads once; returns where from, or throws NativeLibraryException with the reason. */
    public static synchronized String load() {
        if (loadedFrom != null) return loadedFrom;
        if (failure != null) throw new NativeLibraryException(failure);
        try {
            loadedFrom = doLoad();
            return loadedFrom;
        } catch (NativeLibraryException e) {
            failure = e.getMessage();
            throw e;
        }
    }

    private static String doLoad() {
        File file = locate();
        Loader.load(cudart.class);
        try {
            System.load(file.getAbsolutePath());
        } catch (UnsatisfiedLinkError e) {
            throw new NativeLibraryException("could not load " + file + ": " + e.getMessage(), e);
        }
        int[] runtime = {0};
        cudart.cudaRuntimeGetVersion(runtime);
        checkCudaMajor(file.toString(), NativeKernels.compiledRuntimeVersion(), runtime[0]);
        return file.getAbsolutePath();
    }

    /** The library file: the override if set (it must exist), else the copy extracted from the engine jar. */
    static File locate() {
        String override = System.getProperty(PROPERTY, System.getenv(ENV));
        File file;
        if (override != null && !override.isBlank()) {
            file = new File(override);
            if (!file.isFile()) {
                throw new NativeLibraryException("native library override " + PROPERTY + "/" + ENV + " points at "
                        + file + ", which does not exist");
            }
        } else {
            URL url = NativeLibrary.class.getResource(RESOURCE);
            if (url == null) {
                throw new NativeLibraryException("the engine jar carries no " + RESOURCE.substring(1)
                        + " (it was built without nvcc); rebuild on a machine with CUDA 13's nvcc, or set -D"
                        + PROPERTY + "=/path/to/libcompress_native.so");
            }
            try {
                file = Loader.cacheResource(NativeLibrary.class, RESOURCE);
            } catch (Exception e) {
                throw new NativeLibraryException("could not extract " + RESOURCE + " from the engine jar: " + e, e);
            }
        }
        return file;
    }

    /** Refuses a library compiled against another CUDA major version than the runtime loaded here. */
    static void checkCudaMajor(String library, int compiled, int runtime) {
        if (compiled / 1000 != runtime / 1000) {
            throw new NativeLibraryException(library + " was built for CUDA " + CudaVersions.format(compiled)
                    + " but the CUDA runtime loaded here is " + CudaVersions.format(runtime)
                    + "; rebuild it with this CUDA major version");
        }
    }

    /** Thrown when the native library is missing, unloadable, or built for another CUDA major version. */
    public static final class NativeLibraryException extends org.compress.engine.backend.BackendUnavailableException {
        NativeLibraryException(String message) { super(message); }
        NativeLibraryException(String message, Throwable cause) { super(message, cause); }
    }
}
