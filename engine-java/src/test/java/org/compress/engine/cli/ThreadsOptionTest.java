// --threads sizes the CPU backend's native pool from every computing command, before a backend exists, and a bad
// count is refused in one line; --cpu-tune / --no-cpu-tune switch convolution tuning the same way.
package org.compress.engine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.compress.engine.backend.cpu.DnnlNative;
import org.junit.jupiter.api.Test;

class ThreadsOptionTest {
    @Test void everyComputingCommandSetsThePoolAndABadCountIsRefused() {
        String before = System.getProperty(DnnlNative.THREADS_PROPERTY);
        int restore = DnnlNative.configuredThreads();
        try {
            for (String command : new String[] {"train", "pretrain", "distill", "eval", "demo"}) {
                String[] args = command.equals("eval") ? new String[] {"eval", "knn", "--weights", "w.safetensors", "--threads", "1"} : new String[] {command, "--threads", "1"};
                DnnlNative.threads(restore + 1);
                CompressCli.commandLine().parseArgs(args);
                assertEquals(1, DnnlNative.configuredThreads(), command + " --threads 1");
                if (DnnlNative.available()) assertTrue(DnnlNative.describe().endsWith(", 1 threads"), DnnlNative.describe());
            }
            StringWriter err = new StringWriter();
            int rc = CompressCli.execute(new PrintWriter(new StringWriter()), new PrintWriter(err), "train", "--threads", "0");
            assertNotEquals(0, rc);
            assertTrue(err.toString().contains("--threads: expected a thread count >= 1, found 0"), err.toString());
        } finally {
            DnnlNative.threads(restore);
            if (before == null) System.clearProperty(DnnlNative.THREADS_PROPERTY);
            else System.setProperty(DnnlNative.THREADS_PROPERTY, before);
        }
    }

    @Test void everyComputingCommandSwitchesTuningAndABadSettingIsRefused() {
        String before = System.getProperty(DnnlNative.TUNE_PROPERTY);
        try {
            for (String command : new String[] {"train", "pretrain", "distill", "eval", "demo"}) {
                for (boolean on : new boolean[] {true, false}) {
                    String flag = on ? "--cpu-tune" : "--no-cpu-tune";
                    String[] args = command.equals("eval") ? new String[] {"eval", "knn", "--weights", "w.safetensors", flag} : new String[] {command, flag};
                    DnnlNative.tuning(!on);
                    CompressCli.commandLine().parseArgs(args);
                    assertEquals(on, DnnlNative.configuredTuning(), command + " " + flag);
                    if (DnnlNative.available()) assertEquals(on, DnnlNative.describe().endsWith(", tuned"), DnnlNative.describe());
                }
            }
            System.setProperty(DnnlNative.TUNE_PROPERTY, "maybe");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, DnnlNative::configuredTuning);
            assertEquals("compress.cpuTune: expected 1 or 0 (true or false), found 'maybe'", e.getMessage());
        } finally {
            DnnlNative.tuning(false);
            if (before == null) System.clearProperty(DnnlNative.TUNE_PROPERTY);
            else System.setProperty(DnnlNative.TUNE_PROPERTY, before);
            assertFalse(DnnlNative.configuredTuning() && before == null);
        }
    }
}
