// A collective (all-reduce, all-gather, broadcast, barrier) that failed: a peer closed its connection, a timeout
// expired, or the store became unreachable. Thrown by the Gloo bridge (libcompress_gloo.so) and NCCL checks;
// DistributedContext rethrows it with the ranks that died or stopped answering.
package org.compress.engine.dist;

public class CollectiveException extends DistException {
    public CollectiveException(String message) { super(message); }
    public CollectiveException(String message, Throwable cause) { super(message, cause); }
}
