// Independent double-precision definitions of each layer's forward pass, for gradchecks: a layer's fp32
// forward is compared with these, and its backward with their central finite differences.
package org.compress.engine.nn;

import java.util.function.DoubleSupplier;

final class DoubleRef {
    private DoubleRef() {}

    static double[] conv(double[] x, int n, int c, int h, int w, double[] wt, int k, int r, double[] bias, int stride, int pad,
                         int groups) {
        int cg = c / groups, kg = k / groups;
        int oh = (h + 2 * pad - r) / stride + 1, ow = (w + 2 * pad - r) / stride + 1;
        double[] y = new double[n * k * oh * ow];
        for (int b = 0; b < n; b++) for (int o = 0; o < k; o++) for (int i = 0; i < oh; i++) for (int j = 0; j < ow; j++) {
            double s = bias == null ? 0 : bias[o];
            int g = o / kg;
            for (int ic = 0; ic < cg; ic++) for (int a = 0; a < r; a++) for (int q = 0; q < r; q++) {
                int ih = i * stride - pad + a, iw = j * stride - pad + q;
                if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                s += x[((b * c + g * cg + ic) * h + ih) * w + iw] * wt[((o * cg + ic) * r + a) * r + q];
            }
            y[((b * k + o) * oh + i) * ow + j] = s;
        }
        return y;
    }

    static double[] batchNormTrain(double[] x, int n, int c, int hw, double[] gamma, double[] beta, double eps) {
        double[] y = new double[x.length];
        for (int ch = 0; ch < c; ch++) {
            double mean = 0, var = 0;
            for (int b = 0; b < n; b++) for (int i = 0; i < hw; i++) mean += x[(b * c + ch) * hw + i];
            mean /= n * hw;
            for (int b = 0; b < n; b++) for (int i = 0; i < hw; i++) var += Math.pow(x[(b * c + ch) * hw + i] - mean, 2);
            var /= n * hw;
            for (int b = 0; b < n; b++) for (int i = 0; i < hw; i++) {
                int at = (b * c + ch) * hw + i;
                y[at] = (x[at] - mean) / Math.sqrt(var + eps) * gamma[ch] + beta[ch];
            }
        }
        return y;
    }

    static double[] maxPool(double[] x, int planes, int h, int w, int kernel, int stride, int pad) {
        int oh = (h + 2 * pad - kernel) / stride + 1, ow = (w + 2 * pad - kernel) / stride + 1;
        double[] y = new double[planes * oh * ow];
        for (int p = 0; p < planes; p++) for (int i = 0; i < oh; i++) for (int j = 0; j < ow; j++) {
            double m = Double.NEGATIVE_INFINITY;
            for (int a = 0; a < kernel; a++) for (int b = 0; b < kernel; b++) {
                int ih = i * stride - pad + a, iw = j * stride - pad + b;
                if (ih >= 0 && ih < h && iw >= 0 && iw < w) m = Math.max(m, x[(p * h + ih) * w + iw]);
            }
            y[(p * oh + i) * ow + j] = m;
        }
        return y;
    }

    static double[] adaptiveAvg(double[] x, int planes, int h, int w, int oh, int ow) {
        double[] y = new double[planes * oh * ow];
        for (int p = 0; p < planes; p++) for (int i = 0; i < oh; i++) for (int j = 0; j < ow; j++) {
            int h0 = i * h / oh, h1 = ((i + 1) * h + oh - 1) / oh, w0 = j * w / ow, w1 = ((j + 1) * w + ow - 1) / ow;
            double s = 0;
            for (int a = h0; a < h1; a++) for (int b = w0; b < w1; b++) s += x[(p * h + a) * w + b];
            y[(p * oh + i) * ow + j] = s / ((h1 - h0) * (w1 - w0));
        }
        return y;
    }

    static double[] linear(double[] x, int n, int in, double[] wt, int out, double[] bias) {
        double[] y = new double[n * out];
        for (int b = 0; b < n; b++) for (int o = 0; o < out; o++) {
            double s = bias == null ? 0 : bias[o];
            for (int i = 0; i < in; i++) s += x[b * in + i] * wt[o * in + i];
            y[b * out + o] = s;
        }
        return y;
    }

    static double[] relu(double[] x, double cap) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = Math.min(Math.max(x[i], 0), cap);
        return y;
    }

    static double[] add(double[] a, double[] b) {
        double[] y = new double[a.length];
        for (int i = 0; i < a.length; i++) y[i] = a[i] + b[i];
        return y;
    }

    static double dot(double[] a, float[] w) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * w[i];
        return s;
    }

    /** Central differences of loss() with respect to every entry of v (perturbed in place, then restored). */
    static double[] numericGrad(double[] v, DoubleSupplier loss) {
        double[] g = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            double keep = v[i], h = 1e-6 * Math.max(1, Math.abs(keep));
            v[i] = keep + h;
            double up = loss.getAsDouble();
            v[i] = keep - h;
            double down = loss.getAsDouble();
            v[i] = keep;
            g[i] = (up - down) / (2 * h);
        }
        return g;
    }

    static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }
}
