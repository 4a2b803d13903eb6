// IEEE half <-> float conversion with round-to-nearest-even (Java 17 has no Float.float16ToFloat).
package org.compress.engine.tensor;

public final class Float16 {
    private Float16() {}

    public static float toFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        if (exp == 0) {
            float v = mant * 0x1p-24f; // subnormal: mant * 2^-24
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7fffffff;
        if (abs > 0x7f800000) return (short) (sign | 0x7e00);            // NaN
        if (abs >= 0x477ff000) return (short) (sign | 0x7c00);           // overflow to inf (>= 65520 rounds up)
        if (abs < 0x38800000) {                                            // result is subnormal or zero
            float a = Float.intBitsToFloat(abs);
            int m = Math.round(a * 0x1p24f);                               // Math.round is half-up; fix ties to even
            float exact = a * 0x1p24f;
            if (exact - Math.floor(exact) == 0.5 && (m & 1) == 1) m -= 1;
            return (short) (sign | m);
        }
        int e = (abs >>> 23) - 112;
        int mant = abs & 0x7fffff;
        int h = (e << 10) | (mant >>> 13);
        int rest = mant & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (h & 1) == 1)) h += 1;  // carry into the exponent is correct
        return (short) (sign | h);
    }
}
