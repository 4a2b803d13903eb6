// The one-line message of a refused configuration: at most ~300 characters whatever the problems, a long problem
// cut in its middle so that its start and its closing pointer ("(full lists in the log)") stay, the rest counted.
package org.compress.engine.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class InvalidConfigurationExceptionTest {
    @Test void longProblemsKeepTheirStartAndPointerAndOthersAreCounted() {
        assertEquals("--tau: bad; --lr: bad", new InvalidConfigurationException(List.of("--tau: bad", "--lr: bad")).getMessage());

        String longOne = "checkpoint /data/teacher.pth does not match: " + "key, ".repeat(80) + "last (full lists in the log)";
        String m = new InvalidConfigurationException(List.of(longOne)).getMessage();
        assertTrue(m.length() <= 300, m.length() + ": " + m);
        assertTrue(m.startsWith("checkpoint /data/teacher.pth does not match: key, ") && m.endsWith(" ... (full lists in the log)"), m);

        String two = new InvalidConfigurationException(List.of(longOne, "--lr: bad")).getMessage();
        assertTrue(two.length() <= 300 && two.endsWith("(full lists in the log) (and 1 more problems, see the log)"), two);

        // parts separated by "; " are kept whole rather than cut mid-word
        String parts = "file f: 3 missing; " + "y".repeat(200) + "; " + "x".repeat(400);
        assertEquals("file f: 3 missing; " + "y".repeat(200) + " ...", new InvalidConfigurationException(List.of(parts)).getMessage());
    }
}
