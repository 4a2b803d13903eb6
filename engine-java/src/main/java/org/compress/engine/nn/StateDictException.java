// A state dict does not fit a module: missing or unexpected keys, or a tensor of the wrong shape or dtype.
package org.compress.engine.nn;

import org.compress.engine.EngineException;

public class StateDictException extends EngineException {
    public StateDictException(String message) { super(message); }
}
