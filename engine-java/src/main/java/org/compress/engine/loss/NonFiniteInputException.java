// An embedding handed to a loss held NaN or Inf; raised before the banks or any state changed.
package org.compress.engine.loss;

import org.compress.engine.EngineException;

public class NonFiniteInputException extends EngineException {
    public NonFiniteInputException(String message) { super(message); }
}
