// The loss became NaN or infinite: the run stops instead of training on garbage (finished checkpoints are kept).
package org.compress.engine.train;

import org.compress.engine.EngineException;

public class TrainingDivergedException extends EngineException {
    public TrainingDivergedException(String message) { super(message); }
}
