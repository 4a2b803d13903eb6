// The first n images of a dataset (indices 0..n-1 keep their meaning), for quick runs and demos.
package org.compress.engine.data.datasets;

import org.compress.engine.data.image.U8Image;

public final class SubsetDataset implements Dataset {
    private final Dataset source;
    private final int size;

    public SubsetDataset(Dataset source, int size) {
        if (size < 1 || size > source.size()) {
            throw new IllegalArgumentException("subset: expected 1.." + source.size() + " images, found " + size);
        }
        this.source = source;
        this.size = size;
    }

    /** The whole dataset when n is 0 or covers it, else its first n images. */
    public static Dataset firstN(Dataset source, int n) {
        return n <= 0 || n >= source.size() ? source : new SubsetDataset(source, n);
    }

    @Override public int size() { return size; }

    @Override public int numClasses() { return source.numClasses(); }

    @Override public int label(int index) { return source.label(check(index)); }

    @Override public U8Image image(int index) { return source.image(check(index)); }

    @Override public String source(int index) { return source.source(check(index)); }

    private int check(int index) {
        if (index < 0 || index >= size) throw new IndexOutOfBoundsException("subset index " + index + " outside [0, " + size + ")");
        return index;
    }
}
