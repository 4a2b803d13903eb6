// An nvJPEG call returned a status other than NVJPEG_STATUS_SUCCESS.
package org.compress.engine.backend.cuda;

import org.compress.engine.backend.NativeException;

public class NvJpegException extends NativeException {
    private static final String[] NAMES = {"NVJPEG_STATUS_SUCCESS", "NVJPEG_STATUS_NOT_INITIALIZED",
        "NVJPEG_STATUS_INVALID_PARAMETER", "NVJPEG_STATUS_BAD_JPEG", "NVJPEG_STATUS_JPEG_NOT_SUPPORTED",
        "NVJPEG_STATUS_ALLOCATOR_FAILURE", "NVJPEG_STATUS_EXECUTION_FAILED", "NVJPEG_STATUS_ARCH_MISMATCH",
        "NVJPEG_STATUS_INTERNAL_ERROR", "NVJPEG_STATUS_IMPLEMENTATION_NOT_SUPPORTED", "NVJPEG_STATUS_INCOMPLETE_BITSTREAM"};

    public NvJpegException(String call, int status) {
        super("nvJPEG", call, status, statusName(status), null);
    }

    public static String statusName(int status) {
        return status >= 0 && status < NAMES.length ? NAMES[status] : "nvjpegStatus " + status;
    }
}
