// One sample that cannot be read or decoded; carries where it came from (a path, or file#record) so the
// loader can report it, count it and skip it, or fail the run, as the user chose.
package org.compress.engine.data;

public class CorruptSampleException extends DataException {
    private final String source;

    public CorruptSampleException(String source, String reason) {
        super(source + ": " + reason);
        this.source = source;
    }

    public CorruptSampleException(String source, String reason, Throwable cause) {
        super(source + ": " + reason, cause);
        this.source = source;
    }

    /** The file path (or file#record) of the bad sample. */
    public String source() { return source; }
}
