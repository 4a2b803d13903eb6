// Strict loading failed: the checkpoint's keys do not match the model's. Collects every missing, unexpected and
// mis-shaped key at once: the message is one line (counts and an example of each, naming the file), and the
// full lists go to the log (and details()) so one run shows the whole problem.
package org.compress.engine.io;

import java.util.List;

public class CheckpointMismatchException extends CheckpointException {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(CheckpointMismatchException.class);
    /** The message's length limit; examples are shortened or left out to stay within it. */
    static final int MESSAGE_LIMIT = 300;

    private final List<String> missing;
    private final List<String> unexpected;
    private final List<String> misshaped;

    public CheckpointMismatchException(String source, List<String> missing, List<String> unexpected, List<String> misshaped) {
        super(message(source, missing, unexpected, misshaped));
        this.missing = List.copyOf(missing);
        this.unexpected = List.copyOf(unexpected);
        this.misshaped = List.copyOf(misshaped);
        LOG.warn("{}", details());
    }

    /** Keys the model needs that the checkpoint lacks. */
    public List<String> missing() { return missing; }

    /** Keys in the checkpoint that the model does not have. */
    public List<String> unexpected() { return unexpected; }

    /** "name: checkpoint [..] vs model [..]" for keys present on both sides with different shapes. */
    public List<String> misshaped() { return misshaped; }

    /** Every key of every list, one per line (the message shows only the counts and a first example of each). */
    public String details() {
        StringBuilder b = new StringBuilder(getMessage());
        section(b, "missing (in the model, not in the checkpoint)", missing);
        section(b, "unexpected (in the checkpoint, not in the model)", unexpected);
        section(b, "wrong shape", misshaped);
        return b.toString();
    }

    /** One line of at most about 300 characters (as long as the source's name allows): the counts and one example of each kind. */
    private static String message(String source, List<String> missing, List<String> unexpected, List<String> misshaped) {
        StringBuilder b = new StringBuilder(source).append(" does not match the model (strict loading): ")
                .append(missing.size()).append(" missing, ").append(unexpected.size()).append(" unexpected, ")
                .append(misshaped.size()).append(" with the wrong shape");
        String tail = " (full lists in the log)";
        example(b, "missing", missing, tail.length());
        example(b, "unexpected", unexpected, tail.length());
        example(b, "wrong shape", misshaped, tail.length());
        return b.append(tail).toString();
    }

    private static void example(StringBuilder b, String kind, List<String> items, int reserved) {
        if (items.isEmpty()) return;
        String prefix = "; " + kind + ": ", more = items.size() > 1 ? ", ..." : "";
        int room = MESSAGE_LIMIT - reserved - b.length() - prefix.length() - more.length();
        if (room < 12) return;
        String first = items.get(0);
        b.append(prefix).append(first.length() > room ? first.substring(0, room - 3) + "..." : first).append(more);
    }

    private static void section(StringBuilder b, String title, List<String> items) {
        if (items.isEmpty()) return;
        b.append("\n  ").append(title).append(" [").append(items.size()).append("]:");
        for (String item : items) b.append("\n    ").append(item);
    }
}
