// Raw addresses (device memory, pinned host memory) as JavaCPP pointers for the bytedeco cudart / nvJPEG calls.
// The pointers own nothing.
package org.compress.engine.data.gpu;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;

final class Addresses {
    private Addresses() {}

    static Pointer at(long address) {
        return new Pointer() {
            {
                this.address = address;
            }
        };
    }

    static BytePointer bytesAt(long address) {
        return new BytePointer() {
            {
                this.address = address;
            }
        };
    }
}
