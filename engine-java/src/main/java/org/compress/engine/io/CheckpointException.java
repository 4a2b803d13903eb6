// Thrown when a weights file cannot be read or written as asked: truncated or malformed files, unsupported
// formats or dtypes, refused pickle content. Messages name the file, the tensor and what was expected vs found.
package org.compress.engine.io;

import org.compress.engine.EngineException;

public class CheckpointException extends EngineException {
    public CheckpointException(String message) { super(message); }
    public CheckpointException(String message, Throwable cause) { super(message, cause); }
}
