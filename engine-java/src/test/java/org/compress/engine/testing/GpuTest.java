// Marks a test class that needs a GPU: tagged "gpu"; skipped with the probe's reason where no NVIDIA device
// exists, and FAILED (not skipped) on a machine with an NVIDIA device where CUDA cannot be used.
package org.compress.engine.testing;

import java.io.File;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.compress.engine.backend.cuda.CudaProbe;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Tag("gpu")
@ExtendWith(GpuTest.RequireCuda.class)
public @interface GpuTest {
    final class RequireCuda implements ExecutionCondition, BeforeAllCallback {
        static boolean deviceNodePresent() {
            return new File("/dev/nvidiactl").exists() || new File("/dev/nvidia0").exists();
        }

        /** Disabled (reported as skipped, with the reason) where there is no NVIDIA device at all. */
        @Override public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            CudaProbe probe = CudaProbe.probe();
            if (probe.available() || deviceNodePresent()) return ConditionEvaluationResult.enabled("CUDA usable or expected");
            return ConditionEvaluationResult.disabled("no GPU: " + probe.reason());
        }

        @Override public void beforeAll(ExtensionContext context) {
            CudaProbe probe = CudaProbe.probe();
            if (!probe.available()) {
                throw new AssertionError("an NVIDIA device is present but CUDA is unusable: " + probe.reason());
            }
        }
    }
}
