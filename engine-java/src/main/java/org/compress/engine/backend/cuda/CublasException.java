// A cuBLAS call returned a status other than CUBLAS_STATUS_SUCCESS.
package org.compress.engine.backend.cuda;

import org.compress.engine.backend.NativeException;

public class CublasException extends NativeException {
    public CublasException(String call, int status, String statusName, String detail) {
        super("cuBLAS", call, status, statusName, detail);
    }
}
