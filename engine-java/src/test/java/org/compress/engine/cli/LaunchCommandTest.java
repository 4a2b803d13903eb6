// `compress launch`: the command after the launcher's options runs once per local rank (here `info`, which needs no
// rendezvous), and a failing rank's exit code becomes the launch's.
package org.compress.engine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;

class LaunchCommandTest {
    @Test void runsTheCommandPerRankAndPropagatesFailure() {
        assertEquals(0, CompressCli.execute("launch", "--nproc-per-node", "2", "info"));
        int code = CompressCli.execute("launch", "--nproc-per-node", "2", "--grace-seconds", "5", "no-such-command", "--flag");
        assertNotEquals(0, code, "an unknown command fails in every rank, and so does the launch");
    }
}
