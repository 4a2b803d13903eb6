// The batches of one epoch on the GPU, from either data path (see data.gpu.DeviceInput); close it to stop early.
package org.compress.engine.data.cuda;

import java.util.Iterator;

public interface DeviceBatchStream extends Iterator<DeviceInputBatch>, AutoCloseable {
    @Override void close();
}
