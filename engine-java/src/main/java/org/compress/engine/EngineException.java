// The root of the engine's typed exceptions: everything the library throws on purpose extends this.
package org.compress.engine;

public class EngineException extends RuntimeException {
    public EngineException(String message) { super(message); }
    public EngineException(String message, Throwable cause) { super(message, cause); }
}
