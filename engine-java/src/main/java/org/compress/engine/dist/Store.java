// The small key-value store ranks rendezvous through (Gloo's addresses, the NCCL unique id, the run directory,
// configuration fingerprints, failure reports): TcpStore on rank 0, or FileStore on a shared file system.
// get() waits for a key up to the store's timeout and then throws naming the key; the Gloo bridge calls
// set(String, byte[]) and get(String) from native code, so their signatures are fixed.
package org.compress.engine.dist;

import java.time.Duration;

public interface Store extends AutoCloseable {
    void set(String key, byte[] value);

    /** The value of key, waiting for it up to the store's timeout (DistException naming the key after that). */
    byte[] get(String key);

    /** The value of key if it appears within {@code wait} (zero: only if present now), else null. */
    byte[] tryGet(String key, Duration wait);

    /** Ranks whose connection to the store dropped without a clean close (died); empty where the store cannot tell. */
    default java.util.Set<Integer> deadRanks() { return java.util.Set.of(); }

    @Override void close();
}
