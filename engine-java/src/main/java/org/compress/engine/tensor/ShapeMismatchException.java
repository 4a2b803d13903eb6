// Thrown before any state changes when a tensor's shape, dtype, layout or device is not what an op expects.
package org.compress.engine.tensor;

import org.compress.engine.EngineException;

public class ShapeMismatchException extends EngineException {
    public ShapeMismatchException(String message) { super(message); }
}
