// Errors in the data pipeline that the user must fix (missing folder, bad header, inconsistent files).
package org.compress.engine.data;

import org.compress.engine.EngineException;

public class DataException extends EngineException {
    public DataException(String message) { super(message); }
    public DataException(String message, Throwable cause) { super(message, cause); }
}
