// The random-parameter samplers follow torchvision's sampling logic: RandomResizedCrop against statistics of
// torchvision's own get_params (20,000 draws per case, in the fixture), ColorJitter and the blur sigma
// against their defining uniform distributions. Bounds are 5 standard errors (a false alarm ~1e-6 per check).
package org.compress.engine.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.compress.engine.data.transforms.ColorJitter;
import org.compress.engine.data.transforms.RandomResizedCrop;
import org.compress.engine.data.transforms.Rng;
import org.junit.jupiter.api.Test;

class SamplerDistributionTest {
    static final String[] KEYS = {"top", "left", "h", "w", "area", "log_ratio"};

    @Test void randomResizedCropMatchesTorchvisionGetParams() throws IOException {
        JsonNode fx = TransformParityTest.fixture();
        int cases = 0;
        for (JsonNode t : fx.get("samplers")) {
            int ih = t.get("height").asInt(), iw = t.get("width").asInt(), n = t.get("draws").asInt();
            RandomResizedCrop rrc = new RandomResizedCrop(1, 1, t.get("scale").get(0).asDouble(), t.get("scale").get(1).asDouble(),
                    t.get("ratio").get(0).asDouble(), t.get("ratio").get(1).asDouble());
            SplittableRandom rng = new SplittableRandom(1234 + cases);
            double[][] v = new double[KEYS.length][n];
            int fallbacks = 0;
            for (int d = 0; d < n; d++) {
                RandomResizedCrop.Box b = rrc.sample(rng, ih, iw);
                assertTrue(b.top() >= 0 && b.left() >= 0 && b.top() + b.height() <= ih && b.left() + b.width() <= iw, "box inside: " + b);
                if (b.fallback()) {
                    fallbacks++;
                    JsonNode fb = t.get("fallback_box");
                    assertEquals(fb.get(0).asInt(), b.top());
                    assertEquals(fb.get(1).asInt(), b.left());
                    assertEquals(fb.get(2).asInt(), b.height());
                    assertEquals(fb.get(3).asInt(), b.width());
                }
                double[] row = {b.top(), b.left(), b.height(), b.width(), (double) b.height() * b.width() / ((double) ih * iw),
                        Math.log((double) b.width() / b.height())};
                for (int k = 0; k < KEYS.length; k++) v[k][d] = row[k];
            }
            String where = ih + "x" + iw + " scale " + t.get("scale");
            double pt = t.get("fallback_rate").asDouble(), pj = (double) fallbacks / n;
            double sep = Math.sqrt((pt * (1 - pt) + pj * (1 - pj)) / n);
            assertTrue(Math.abs(pj - pt) <= 5 * sep + 1e-12, where + ": fallback rate " + pj + " vs torchvision " + pt);
            for (int k = 0; k < KEYS.length; k++) {
                double mj = mean(v[k]), vj = var(v[k], mj);
                double mt = t.get("mean").get(KEYS[k]).asDouble(), vt = t.get("var").get(KEYS[k]).asDouble();
                double se = Math.sqrt((vj + vt) / n);
                assertTrue(Math.abs(mj - mt) <= 5 * se + 1e-9, where + " " + KEYS[k] + ": mean " + mj + " vs torchvision " + mt + " (se " + se + ")");
                // Relative s.e. of a sample variance is ~sqrt(2/n) for light tails; 8 of those allows heavier ones.
                if (vt > 1e-12) assertTrue(Math.abs(vj / vt - 1) <= 8 * Math.sqrt(2.0 / n),
                        where + " " + KEYS[k] + ": variance " + vj + " vs torchvision " + vt);
            }
            cases++;
        }
        assertEquals(4, cases);
    }

    @Test void colorJitterOrderAndFactors() {
        ColorJitter j = new ColorJitter(0.4, 0.4, 0.4, 0.1);
        SplittableRandom rng = new SplittableRandom(99);
        int n = 48000;
        Map<String, Integer> perms = new HashMap<>();
        double[][] f = new double[4][n];
        for (int d = 0; d < n; d++) {
            ColorJitter.Params p = j.sample(rng);
            perms.merge(java.util.Arrays.toString(p.order()), 1, Integer::sum);
            f[0][d] = p.brightness();
            f[1][d] = p.contrast();
            f[2][d] = p.saturation();
            f[3][d] = p.hue();
        }
        assertEquals(24, perms.size(), "all 24 orders occur");
        double chi2 = 0, e = n / 24.0;
        for (int c : perms.values()) chi2 += (c - e) * (c - e) / e;
        assertTrue(chi2 < 60, "order uniform: chi-square " + chi2 + " with 23 dof");   // P(chi2_23 > 60) ~ 4e-5
        double[][] ranges = {{0.6, 1.4}, {0.6, 1.4}, {0.6, 1.4}, {-0.1, 0.1}};
        for (int k = 0; k < 4; k++) assertUniform("factor " + k, f[k], ranges[k][0], ranges[k][1]);
        ColorJitter.Params none = new ColorJitter(0, 0.2, 0, 0).sample(rng);
        assertTrue(Double.isNaN(none.brightness()) && Double.isNaN(none.hue()) && !Double.isNaN(none.contrast()));
    }

    @Test void blurSigmaIsUniform() {
        SplittableRandom rng = new SplittableRandom(5);
        double[] s = new double[40000];
        for (int i = 0; i < s.length; i++) s[i] = Rng.uniform(rng, 0.1, 2.0);
        assertUniform("sigma", s, 0.1, 2.0);
    }

    @Test void perSampleGeneratorsAreReproducibleAndDistinct() {
        assertEquals(Rng.forSample(7, 2, 13).nextLong(), Rng.forSample(7, 2, 13).nextLong());
        assertNotEquals(Rng.forSample(7, 2, 13).nextLong(), Rng.forSample(7, 3, 13).nextLong());
        assertNotEquals(Rng.forSample(7, 2, 13).nextLong(), Rng.forSample(7, 2, 14).nextLong());
        assertNotEquals(Rng.forSample(7, 2, 13).nextLong(), Rng.forSample(8, 2, 13).nextLong());
    }

    static void assertUniform(String what, double[] x, double lo, double hi) {
        double m = mean(x), v = var(x, m), n = x.length;
        double tm = (lo + hi) / 2, tv = (hi - lo) * (hi - lo) / 12;
        for (double d : x) assertTrue(d >= lo && d <= hi, what + " " + d + " outside [" + lo + ", " + hi + "]");
        assertTrue(Math.abs(m - tm) <= 5 * Math.sqrt(tv / n), what + ": mean " + m + " vs " + tm);
        // Var of the sample variance of U(0,1)-like data: (mu4 - s^4)/n with mu4 = 9/5 s^4.
        assertTrue(Math.abs(v - tv) <= 5 * Math.sqrt(0.8 * tv * tv / n), what + ": variance " + v + " vs " + tv);
    }

    static double mean(double[] x) {
        double s = 0;
        for (double d : x) s += d;
        return s / x.length;
    }

    static double var(double[] x, double m) {
        double s = 0;
        for (double d : x) s += (d - m) * (d - m);
        return s / x.length;
    }
}
