// Independent double-precision definitions of the losses for tests, written the way the papers state them
// (explicit softmax probabilities, explicit normalisation), not the way the engine computes them.
package org.compress.engine.loss;

final class LossReference {
    private LossReference() {}

    static double[] normalize(double[] x, int b, int d) {
        double[] y = new double[b * d];
        for (int i = 0; i < b; i++) {
            double ss = 0;
            for (int c = 0; c < d; c++) ss += x[i * d + c] * x[i * d + c];
            double n = Math.max(Math.sqrt(ss), 1e-12);
            for (int c = 0; c < d; c++) y[i * d + c] = x[i * d + c] / n;
        }
        return y;
    }

    static double[] softmax(double[] z) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : z) max = Math.max(max, v);
        double s = 0;
        double[] p = new double[z.length];
        for (int j = 0; j < z.length; j++) s += p[j] = Math.exp(z[j] - max);
        for (int j = 0; j < z.length; j++) p[j] /= s;
        return p;
    }

    /** mean_i KL(softmax(t_i Qt / tau) || softmax(s_i Qs / tau)) with t, s normalised here (raw inputs). */
    static double compressLoss(double[] tRaw, double[] sRaw, int b, int dt, int ds, float[] qt, float[] qs, int k, double tau) {
        double[] t = normalize(tRaw, b, dt), s = normalize(sRaw, b, ds);
        double total = 0;
        for (int i = 0; i < b; i++) {
            double[] zt = new double[k], zs = new double[k];
            for (int j = 0; j < k; j++) {
                for (int c = 0; c < dt; c++) zt[j] += t[i * dt + c] * qt[j * dt + c] / tau;
                for (int c = 0; c < ds; c++) zs[j] += s[i * ds + c] * qs[j * ds + c] / tau;
            }
            double[] pt = softmax(zt), ps = softmax(zs);
            for (int j = 0; j < k; j++) if (pt[j] > 0) total += pt[j] * Math.log(pt[j] / ps[j]);
        }
        return total / b;
    }

    /** mean_i -log softmax([q_i.k_i, q_i.Q_j] / tau)_0 with q, k normalised here. */
    static double infoNce(double[] qRaw, double[] kRaw, int b, int d, float[] bank, int k, double tau) {
        double[] q = normalize(qRaw, b, d), key = normalize(kRaw, b, d);
        double total = 0;
        for (int i = 0; i < b; i++) {
            double[] z = new double[k + 1];
            for (int c = 0; c < d; c++) z[0] += q[i * d + c] * key[i * d + c] / tau;
            for (int j = 0; j < k; j++) for (int c = 0; c < d; c++) z[j + 1] += q[i * d + c] * bank[j * d + c] / tau;
            total += -Math.log(softmax(z)[0]);
        }
        return total / b;
    }

    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }
}
