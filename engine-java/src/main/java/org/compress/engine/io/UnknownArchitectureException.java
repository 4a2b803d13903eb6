// An architecture name the engine has no model for (or a checkpoint saved for another one); lists the known names.
package org.compress.engine.io;

public class UnknownArchitectureException extends CheckpointException {
    public UnknownArchitectureException(String message) { super(message); }
}
