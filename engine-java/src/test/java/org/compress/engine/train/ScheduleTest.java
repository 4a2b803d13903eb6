// The CompRess learning-rate schedules: the official multi-step (x0.2 at epochs 90 and 120, changed once per epoch)
// and cosine per iteration; a malformed schedule is rejected with what was expected.
package org.compress.engine.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.compress.engine.optim.LrSchedule;
import org.junit.jupiter.api.Test;

class ScheduleTest {
    static TrainConfig.Compress with(String schedule) {
        return new TrainConfig.Compress("2q", 130, 256, 0.05, 128000, 0.04f, 0.999, "F32", "AUTO", false, 10, false, schedule);
    }

    @Test void officialMultiStep() {
        LrSchedule s = CompressTrainer.schedule(with("multistep:90,120"));
        assertEquals(0.05, s.lr(0), 1e-12);
        assertEquals(0.05, s.lr(89.99), 1e-12, "constant within an epoch");
        assertEquals(0.01, s.lr(90), 1e-12);
        assertEquals(0.002, s.lr(125.5), 1e-12);
    }

    @Test void cosineAndErrors() {
        LrSchedule s = CompressTrainer.schedule(with("cosine"));
        assertEquals(0.025, s.lr(65), 1e-9);
        var e = assertThrows(IllegalArgumentException.class, () -> CompressTrainer.schedule(with("multistep:90,x")));
        assertTrue(e.getMessage().contains("expected cosine or multistep:E1,E2,..., found 'multistep:90,x'"), e.getMessage());
    }
}
