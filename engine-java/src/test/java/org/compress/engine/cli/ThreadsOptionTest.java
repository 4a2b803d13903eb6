// --threads sizes the CPU backend's native pool from every computing command, before a backend exists, and a bad
// count is refused in one line.
package org.compress.engine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
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
}
