// Training stopped on request (a signal) after writing a complete checkpoint: the run can be resumed from it
// (`--resume RUN_DIR`). The command line maps it to exit code 128 + the signal's number.
package org.compress.engine.train;

import java.nio.file.Path;
import org.compress.engine.EngineException;

public class TrainingInterruptedException extends EngineException {
    private final String reason;
    private final Path runDirectory;
    private final Path checkpoint;

    public TrainingInterruptedException(String reason, Path runDirectory, Path checkpoint) {
        super("stopped on " + reason + "; " + (checkpoint == null ? "no checkpoint yet" : "checkpoint " + checkpoint)
                + " in run directory " + runDirectory);
        this.reason = reason;
        this.runDirectory = runDirectory;
        this.checkpoint = checkpoint;
    }

    /** What asked for the stop, e.g. "SIGINT". */
    public String reason() { return reason; }

    public Path runDirectory() { return runDirectory; }

    /** The complete checkpoint written on the way out (or the newest one), or null. */
    public Path checkpoint() { return checkpoint; }
}
