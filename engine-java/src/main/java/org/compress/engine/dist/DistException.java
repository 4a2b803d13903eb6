// A failure of distributed training: rendezvous (environment, store, ports, addresses), mismatched configurations
// across ranks, or a collective that failed or timed out. The message names the rank(s) involved where known.
package org.compress.engine.dist;

import org.compress.engine.EngineException;

public class DistException extends EngineException {
    public DistException(String message) { super(message); }
    public DistException(String message, Throwable cause) { super(message, cause); }
}
