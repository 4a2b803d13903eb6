// bfloat16 <-> float conversion with round-to-nearest-even, bit-identical to CUDA's __float2bfloat16_rn.
package org.compress.engine.tensor;

public final class BFloat16 {
    private BFloat16() {}

    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) return (short) ((bits >>> 16) | 0x40); // keep NaN a quiet NaN
        int rounding = 0x7fff + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    public static float toFloat(short b) { return Float.intBitsToFloat((b & 0xffff) << 16); }

    /** The float nearest to f that bfloat16 can hold: what a value becomes after a round trip. */
    public static float round(float f) { return toFloat(fromFloat(f)); }
}
