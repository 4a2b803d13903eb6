// What follows a network's embedding: nothing, a linear layer (a classifier, or CompRess-1q's linear
// projection), or MoCo v2's MLP head Linear(d, d) -> ReLU -> Linear(d, out) (state dict keys <slot>.0/.2).
package org.compress.engine.nn.models;

public record Head(Kind kind, int outDim) {
    public enum Kind { NONE, LINEAR, MLP }

    public Head {
        if (kind != Kind.NONE && outDim < 1) throw new IllegalArgumentException("head: expected outDim >= 1, found " + outDim);
    }

    public static Head none() { return new Head(Kind.NONE, 0); }

    /** A classifier over numClasses, or a linear projection to outDim. */
    public static Head linear(int outDim) { return new Head(Kind.LINEAR, outDim); }

    public static Head mlp(int outDim) { return new Head(Kind.MLP, outDim); }
}
