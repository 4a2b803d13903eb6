// What the loader does with a sample that cannot be read or decoded.
package org.compress.engine.data.loader;

public enum CorruptPolicy {
    /** Log it with its path, count it in LoaderStats, leave it out of its batch (the batch is one shorter). */
    SKIP,
    /** Fail the epoch with a DataException naming the file. */
    FAIL
}
