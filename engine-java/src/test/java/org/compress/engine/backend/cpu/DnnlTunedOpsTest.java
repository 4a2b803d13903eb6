// Every DnnlOpsTest check again with convolution tuning on (DnnlNative.tuning, --cpu-tune): each convolution shape
// then runs the implementation that won its timing, not oneDNN's first choice, and a fused residual is taken as a sum
// post-op over a copy of the residual (tuning mode 2; the timed choice between the two forms is up to the clock).
// The bounds are DnnlOpsTest's: small-integer operands keep the separate convolutions exact in any summation order, and
// the fused bound holds for any order. Tuned primitives are cached apart from untuned ones of the same shape, so
// nothing made here is reused by the untuned tests, nor the other way round.
package org.compress.engine.backend.cpu;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

class DnnlTunedOpsTest extends DnnlOpsTest {
    @BeforeAll static void tune() { DnnlNative.setTuning(2); }

    @AfterAll static void untune() { DnnlNative.setTuning(0); }
}
