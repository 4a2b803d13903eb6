// A labelled image collection read as undecoded file bytes: the GPU path's CPU workers only read files, and the
// decoding happens on the GPU (nvJPEG). Indices, labels and sources are those of the underlying dataset.
package org.compress.engine.data.gpu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.compress.engine.data.CorruptSampleException;
import org.compress.engine.data.datasets.ImageFolder;

public interface EncodedDataset {
    int size();

    int numClasses();

    int label(int index);

    /** Where image {@code index} comes from (its path), for messages. */
    String source(int index);

    /** The file's bytes as stored (thread-safe); CorruptSampleException when it cannot be read. */
    byte[] bytes(int index);

    static EncodedDataset of(ImageFolder folder) {
        return new EncodedDataset() {
            @Override public int size() { return folder.size(); }
            @Override public int numClasses() { return folder.numClasses(); }
            @Override public int label(int index) { return folder.label(index); }
            @Override public String source(int index) { return folder.source(index); }
            @Override public byte[] bytes(int index) {
                Path p = folder.path(index);
                try {
                    return Files.readAllBytes(p);
                } catch (IOException e) {
                    throw new CorruptSampleException(p.toString(), "unreadable (" + e + ")", e);
                }
            }
        };
    }
}
