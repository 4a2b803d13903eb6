// A cuDNN call returned a status other than CUDNN_STATUS_SUCCESS.
package org.compress.engine.backend.cuda;

import org.compress.engine.backend.NativeException;

public class CudnnException extends NativeException {
    public CudnnException(String call, int status, String statusName, String detail) {
        super("cuDNN", call, status, statusName, detail);
    }
}
