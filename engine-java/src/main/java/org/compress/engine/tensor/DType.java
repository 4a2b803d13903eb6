// Element types a tensor can hold, with their size in bytes.
package org.compress.engine.tensor;

public enum DType {
    F32(4), BF16(2), F16(2), I32(4), I64(8), U8(1);

    private final int bytes;

    DType(int bytes) { this.bytes = bytes; }

    public int bytes() { return bytes; }

    public boolean isFloating() { return this == F32 || this == BF16 || this == F16; }
}
