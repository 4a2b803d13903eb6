// Marks a test class that needs a GPU: tagged "gpu"; skipped with the probe's reason where no NVIDIA device
// exists, and FAILED (not skipped) on a machine with an NVIDIA device where CUDA cannot be used.
package org.compress.engine.testing;

import java.io.File;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.compress.engine.backend.cuda.CudaProbe;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Tag("gpu")
@ExtendWith(GpuTest.RequireCuda.class)
public @interface GpuTest {
    final class RequireCuda implements BeforeAllCallback {
        @Override public void beforeAll(ExtensionContext context) {
            CudaProbe probe = CudaProbe.probe();
            if (probe.available()) return;
            if (new File("/dev/nvidiactl").exists() || new File("/dev/nvidia0").exists()) {
                throw new AssertionError("an NVIDIA device is present but CUDA is unusable: " + probe.reason());
            }
            Assumptions.abort("no GPU: " + probe.reason());
        }
    }
}
