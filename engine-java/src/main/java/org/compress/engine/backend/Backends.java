// The one place that chooses a backend. "auto" (the default) takes CUDA device 0 when CudaProbe says it
// can run and otherwise the CPU, logging why; "cpu", "cuda" or "cuda:N" force one (and fail loudly if
// it cannot run). The choice comes from the argument, else -Dcompress.backend, else $COMPRESS_BACKEND.
// "cpu" is the fast CPU backend (oneDNN through libcompress_cpu.so) where that library loads, else the plain-Java
// one; "cpu-reference" is always the plain-Java reference.
package org.compress.engine.backend;

import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.backend.cuda.CudaBackend;
import org.compress.engine.backend.cuda.CudaProbe;
import org.compress.engine.tensor.Device;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

public final class Backends {
    public static final String PROPERTY = "compress.backend";
    public static final String ENV = "COMPRESS_BACKEND";
    private static final Logger log = LoggerFactory.getLogger(Backends.class);

    private Backends() {}

    /** The configured choice: -Dcompress.backend, then $COMPRESS_BACKEND, then "auto". */
    public static String configured() {
        String v = System.getProperty(PROPERTY);
        if (v == null || v.isBlank()) v = System.getenv(ENV);
        return v == null || v.isBlank() ? "auto" : v.trim();
    }

    /** The best backend for the configured choice. */
    public static Backend best() { return select(configured()); }

    /** "auto", "cpu", "cpu-reference", "cuda" or "cuda:N". */
    public static Backend select(String choice) {
        if (choice == null || choice.equalsIgnoreCase("auto")) {
            CudaProbe probe = CudaProbe.probe();
            if (probe.available()) return CudaBackend.open(0);
            log.info("using the CPU backend: {}", probe.reason());
            return CpuBackend.fast();
        }
        if (choice.trim().equalsIgnoreCase("cpu-reference")) return new CpuBackend();
        Device d = Device.parse(choice);
        return d.isCuda() ? CudaBackend.open(d.index()) : CpuBackend.fast();
    }
}
