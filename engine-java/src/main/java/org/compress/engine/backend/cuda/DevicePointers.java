// Wraps raw device addresses (long) as JavaCPP Pointers for the bytedeco cuBLAS/cuDNN/cudart calls.
// The Pointer objects own nothing; the memory belongs to a DeviceBuffer.
package org.compress.engine.backend.cuda;

import org.bytedeco.javacpp.Pointer;

final class DevicePointers {
    private DevicePointers() {}

    static Pointer at(long address) {
        return new Pointer() {
            {
                this.address = address;
            }
        };
    }
}
