// Argument checks shared by every op: each failure says what was expected and what was found.
package org.compress.engine.tensor;

import java.util.Arrays;

public final class Checks {
    private Checks() {}

    public static void rank(String what, Tensor t, int rank) {
        if (t.rank() != rank) {
            throw new ShapeMismatchException(what + ": expected a " + rank + "-d tensor, found " + t);
        }
    }

    public static void shape(String what, Tensor t, int... expected) {
        if (!Arrays.equals(t.shape(), expected)) {
            throw new ShapeMismatchException(what + ": expected shape " + Arrays.toString(expected) + ", found " + t);
        }
    }

    public static void sameShape(String what, Tensor a, Tensor b) {
        if (!a.sameShape(b)) {
            throw new ShapeMismatchException(what + ": shapes differ: " + a + " vs " + b);
        }
    }

    public static void dtype(String what, Tensor t, DType... allowed) {
        for (DType d : allowed) if (t.dtype() == d) return;
        throw new ShapeMismatchException(what + ": expected dtype " + (allowed.length == 1 ? allowed[0] : Arrays.toString(allowed))
                + ", found " + t);
    }

    public static void device(String what, Tensor t, Device device) {
        if (!t.device().equals(device)) {
            throw new ShapeMismatchException(what + ": expected a tensor on " + device + ", found " + t);
        }
    }

    public static void contiguous(String what, Tensor t) {
        if (t.format() != MemoryFormat.CONTIGUOUS) {
            throw new ShapeMismatchException(what + ": expected a CONTIGUOUS tensor, found " + t);
        }
    }

    public static void positive(String what, long value) {
        if (value < 1) throw new IllegalArgumentException(what + ": expected >= 1, found " + value);
    }
}
