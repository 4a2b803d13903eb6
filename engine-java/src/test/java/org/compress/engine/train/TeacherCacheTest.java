// The cached teacher returns the stored rows of exactly the requested image indices, and rejects others.
package org.compress.engine.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.compress.engine.backend.cpu.CpuBackend;
import org.compress.engine.tensor.ShapeMismatchException;
import org.junit.jupiter.api.Test;

class TeacherCacheTest {
    @Test void looksUpRowsByImageIndex() {
        float[] e = {0, 1, 10, 11, 20, 21, 30, 31};
        try (TeacherCache cache = new TeacherCache(new CpuBackend(), e, 4, 2)) {
            assertArrayEquals(new float[] {30, 31, 0, 1, 30, 31}, new CpuBackend().toFloatArray(cache.lookup(new int[] {3, 0, 3})));
            var bad = assertThrows(ShapeMismatchException.class, () -> cache.lookup(new int[] {4}));
            assertTrue(bad.getMessage().contains("holds images 0..3, asked for 4"), bad.getMessage());
        }
        assertThrows(ShapeMismatchException.class, () -> new TeacherCache(new CpuBackend(), e, 3, 2));
    }
}
