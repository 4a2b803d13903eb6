// The progress bar draws the stage, the step count, the loss, images/s and the data-wait share when asked to
// (ON), and draws nothing off a terminal (AUTO without a console, OFF), where StepLog's log lines carry the numbers.
package org.compress.engine.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import org.junit.jupiter.api.Test;

class ProgressTest {
    static String drawn(Progress.Mode mode) {
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true));
        try (Progress p = Progress.open(mode, "compress-2q", 10)) {
            for (int i = 0; i < 10; i++) p.step(i == 9 ? 1.2345 : Double.NaN, 321, 0.25);
        } finally {
            System.setErr(err);
        }
        return captured.toString();
    }

    @Test void theBarShowsLossSpeedAndDataWait() {
        String bar = drawn(Progress.Mode.ON);
        assertTrue(bar.contains("compress-2q"), bar);
        assertTrue(bar.contains("10/10"), bar);
        assertTrue(bar.contains("loss 1.2345, 321 img/s, data wait 25%"), bar);
    }

    @Test void offATerminalNothingIsDrawn() {
        assertEquals("", drawn(Progress.Mode.OFF));
        if (System.console() == null) assertEquals("", drawn(Progress.Mode.AUTO));
        assertFalse(Progress.open(Progress.Mode.OFF, "x", 5).drawing());
    }
}
