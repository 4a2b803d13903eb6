// bfloat16 and half conversions: exhaustive round trips and round-to-nearest-even at the ties.
package org.compress.engine.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class NumberFormatsTest {
    @Test void everyBf16PatternRoundTrips() {
        for (int b = 0; b < 65536; b++) {
            float f = BFloat16.toFloat((short) b);
            if (Float.isNaN(f)) {
                assertTrue(Float.isNaN(BFloat16.toFloat(BFloat16.fromFloat(f))), "NaN stays NaN: " + b);
            } else {
                assertEquals((short) b, BFloat16.fromFloat(f), "pattern " + Integer.toHexString(b));
            }
        }
    }

    @Test void bf16RoundsToNearestEven() {
        // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1.0).
        assertEquals(1.0f, BFloat16.round(1f + 0x1p-8f));
        // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6: even is 1 + 2^-6.
        assertEquals(1f + 0x1p-6f, BFloat16.round(1f + 3 * 0x1p-8f));
        assertEquals(1f + 0x1p-7f, BFloat16.round(1f + 0x1p-7f + 0x1p-10f));
        assertEquals(Float.POSITIVE_INFINITY, BFloat16.round(Float.MAX_VALUE));
    }

    @Test void everyHalfPatternRoundTrips() {
        for (int b = 0; b < 65536; b++) {
            float f = Float16.toFloat((short) b);
            if (Float.isNaN(f)) continue;
            assertEquals((short) b, Float16.fromFloat(f), "pattern " + Integer.toHexString(b));
        }
    }

    @Test void halfKnownValuesAndTies() {
        assertEquals(1.0f, Float16.toFloat((short) 0x3c00));
        assertEquals(65504f, Float16.toFloat((short) 0x7bff));
        assertEquals(0x1p-24f, Float16.toFloat((short) 0x0001));
        assertEquals((short) 0x3c00, Float16.fromFloat(1f + 0x1p-11f));          // tie -> even (1.0)
        assertEquals((short) 0x3c02, Float16.fromFloat(1f + 3 * 0x1p-11f));      // tie -> even (1 + 2^-9)
        assertEquals((short) 0x7c00, Float16.fromFloat(65520f));                // rounds up to infinity
        assertEquals((short) 0x7bff, Float16.fromFloat(65519f));
        assertEquals((short) 0x0000, Float16.fromFloat(0x1p-26f));              // below half the smallest subnormal
        assertEquals((short) 0x0001, Float16.fromFloat(0x1p-25f + 0x1p-30f));
    }
}
