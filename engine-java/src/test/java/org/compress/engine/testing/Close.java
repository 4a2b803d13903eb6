// Tolerance assertions that say how they failed: |actual - ref| <= atol + rtol * |ref| element by element;
// a failure prints the max absolute and relative difference, where, and the % of the tolerance used.
package org.compress.engine.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.Locale;

public final class Close {
    private Close() {}

    public static void assertClose(String what, float[] actual, double[] ref, double atol, double rtol) {
        double[] bound = new double[ref.length];
        for (int i = 0; i < ref.length; i++) bound[i] = atol + rtol * Math.abs(ref[i]);
        assertWithin(what, actual, ref, bound);
    }

    public static void assertClose(String what, float[] actual, float[] ref, double atol, double rtol) {
        assertClose(what, actual, toDouble(ref), atol, rtol);
    }

    /** Element i may differ from ref[i] by at most bound[i]; also every element must be finite. */
    public static void assertWithin(String what, float[] actual, double[] ref, double[] bound) {
        if (actual.length != ref.length) fail(what + ": length " + actual.length + " != reference length " + ref.length);
        double maxAbs = 0, maxRel = 0, worstUse = 0;
        int worst = -1;
        for (int i = 0; i < actual.length; i++) {
            if (!Float.isFinite(actual[i])) fail(what + ": element " + i + " is " + actual[i] + " (reference " + ref[i] + ")");
            double d = Math.abs(actual[i] - ref[i]);
            maxAbs = Math.max(maxAbs, d);
            if (ref[i] != 0) maxRel = Math.max(maxRel, d / Math.abs(ref[i]));
            double use = bound[i] == 0 ? (d == 0 ? 0 : Double.POSITIVE_INFINITY) : d / bound[i];
            if (use > worstUse) {
                worstUse = use;
                worst = i;
            }
        }
        if (worstUse > 1) {
            fail(String.format(Locale.ROOT, "%s: max |diff| %.3e, max rel %.3e; worst at %d: actual %.9g ref %.9g bound %.3e (%.0f%% of tolerance)",
                    what, maxAbs, maxRel, worst, actual[worst], ref[worst], bound[worst], 100 * worstUse));
        }
    }

    /** Bitwise equality, with the first differing element named. */
    public static void assertBitwise(String what, float[] actual, float[] expected) {
        if (actual.length != expected.length) fail(what + ": length " + actual.length + " != " + expected.length);
        for (int i = 0; i < actual.length; i++) {
            if (Float.floatToRawIntBits(actual[i]) != Float.floatToRawIntBits(expected[i])) {
                fail(what + ": first difference at " + i + ": " + actual[i] + " vs " + expected[i]);
            }
        }
    }

    public static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }

    /** Asserts the array is finite and not all zero (a kernel that wrote nothing fails this). */
    public static void assertFiniteNonZero(String what, float[] a) {
        boolean nonZero = false;
        for (int i = 0; i < a.length; i++) {
            if (!Float.isFinite(a[i])) fail(what + ": element " + i + " is " + a[i]);
            nonZero |= a[i] != 0;
        }
        if (!nonZero && a.length > 0) fail(what + ": all " + a.length + " elements are zero");
    }
}
