// A backend was asked for by name (e.g. --backend cuda) but cannot run here; the message says why.
package org.compress.engine.backend;

import org.compress.engine.EngineException;

public class BackendUnavailableException extends EngineException {
    public BackendUnavailableException(String message) { super(message); }
    public BackendUnavailableException(String message, Throwable cause) { super(message, cause); }
}
