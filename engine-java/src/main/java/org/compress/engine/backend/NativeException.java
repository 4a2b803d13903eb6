// A native library call failed: names the library, the call, the status (number and name) and, for our
// own kernels, the file:line in engine-native where the failure was seen.
package org.compress.engine.backend;

import org.compress.engine.EngineException;

public class NativeException extends EngineException {
    private final String library;
    private final String call;
    private final int status;

    public NativeException(String library, String call, int status, String statusName, String detail) {
        super(library + " call " + call + " failed with status " + status + " (" + statusName + ")"
                + (detail == null || detail.isEmpty() ? "" : ": " + detail));
        this.library = library;
        this.call = call;
        this.status = status;
    }

    public String library() { return library; }

    public String call() { return call; }

    public int status() { return status; }
}
