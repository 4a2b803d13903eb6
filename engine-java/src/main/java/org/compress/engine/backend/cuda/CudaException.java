// A CUDA runtime call or one of our kernels returned an error status.
package org.compress.engine.backend.cuda;

import org.compress.engine.backend.NativeException;

public class CudaException extends NativeException {
    public CudaException(String library, String call, int status, String statusName, String detail) {
        super(library, call, status, statusName, detail);
    }
}
