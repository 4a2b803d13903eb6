// A labelled image collection with a stable index per image (the cached-teacher lookup key): index i always
// names the same image for the same files on disk. image(i) may throw CorruptSampleException; the loader
// decides whether that skips the sample or fails the run.
package org.compress.engine.data.datasets;

import org.compress.engine.data.image.U8Image;

public interface Dataset {
    int size();

    int numClasses();

    /** Class of image {@code index}, in [0, numClasses). */
    int label(int index);

    /** Reads and decodes image {@code index} (thread-safe). */
    U8Image image(int index);

    /** Where image {@code index} comes from (a path, or file#record), for messages. */
    String source(int index);
}
