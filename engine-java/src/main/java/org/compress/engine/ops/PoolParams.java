// Geometry of a 2-d pooling window (PyTorch's MaxPool2d arguments, ceil_mode=False, dilation 1).
package org.compress.engine.ops;

public record PoolParams(int kernelH, int kernelW, int strideH, int strideW, int padH, int padW) {
    public PoolParams {
        if (kernelH < 1 || kernelW < 1 || strideH < 1 || strideW < 1 || padH < 0 || padW < 0
                || padH > kernelH / 2 || padW > kernelW / 2) {
            throw new IllegalArgumentException("pool2d: kernel and stride must be >= 1 and 0 <= padding <= kernel / 2, found " + this);
        }
    }

    public static PoolParams of(int kernel, int stride, int padding) {
        return new PoolParams(kernel, kernel, stride, stride, padding, padding);
    }

    public int outH(int h) { return (h + 2 * padH - kernelH) / strideH + 1; }

    public int outW(int w) { return (w + 2 * padW - kernelW) / strideW + 1; }
}
