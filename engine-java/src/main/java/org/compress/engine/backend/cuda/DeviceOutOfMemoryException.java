// The device could not satisfy an allocation even after the allocator released its cache.
package org.compress.engine.backend.cuda;

import org.compress.engine.EngineException;

public class DeviceOutOfMemoryException extends EngineException {
    private final long requestedBytes;
    private final long freeBytes;

    public DeviceOutOfMemoryException(String device, long requestedBytes, long freeBytes, long totalBytes,
                                      long inUseBytes, long cachedBytes) {
        super("out of memory on " + device + ": requested " + Mem.human(requestedBytes) + " (" + requestedBytes
                + " bytes), device has " + Mem.human(freeBytes) + " free of " + Mem.human(totalBytes)
                + "; this engine holds " + Mem.human(inUseBytes) + " in use and " + Mem.human(cachedBytes) + " cached");
        this.requestedBytes = requestedBytes;
        this.freeBytes = freeBytes;
    }

    public long requestedBytes() { return requestedBytes; }

    public long freeBytes() { return freeBytes; }
}
