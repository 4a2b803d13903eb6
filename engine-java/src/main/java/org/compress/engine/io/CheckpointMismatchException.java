// Strict loading failed: the checkpoint's keys do not match the model's. Collects every missing, unexpected and
// mis-shaped key at once: the message is one line (counts and an example of each, naming the file), and the
// full lists go to the log (and details()) so one run shows the whole problem.
package org.compress.engine.io;

import java.util.List;

public class CheckpointMismatchException extends CheckpointException {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(CheckpointMismatchException.class);
    /** The message's length limit; examples are shortened or left out to stay within it. */
    static final int MESSAGE_LIMIT = 300;

    private final String source;
    private final List<String> missing;
    private final List<String> unexpected;
    private final List<String> misshaped;

    public CheckpointMismatchException(String source, List<String> missing, List<String> unexpected, List<String> misshaped) {
        super(message("", source, missing, unexpected, misshaped));
        this.source = source;
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

    /**
     * The message with {@code context} before it (e.g. what the checkpoint was being loaded for), still one line of
     * at most about 300 characters: the examples are shortened first, the counts and the pointer to the log are kept.
     */
    public String summary(String context) { return message(context, source, missing, unexpected, misshaped); }

    /** Every key of every list, one per line (the message shows only the counts and a first example of each). */
    public String details() {
        StringBuilder b = new StringBuilder(source).append(counts(missing, unexpected, misshaped)); // the whole source, however long
        section(b, "missing (in the model, not in the checkpoint)", missing);
        section(b, "unexpected (in the checkpoint, not in the model)", unexpected);
        section(b, "wrong shape", misshaped);
        return b.toString();
    }

    /**
     * One line of at most about 300 characters: the counts and one example of each kind, then the pointer to the
     * log. A source too long for that is cut in its middle, keeping its start and the file's name.
     */
    private static String message(String context, String source, List<String> missing, List<String> unexpected, List<String> misshaped) {
        String counts = counts(missing, unexpected, misshaped);
        String tail = " (full lists in the log)";
        StringBuilder b = new StringBuilder(context).append(fit(source, MESSAGE_LIMIT - context.length() - counts.length() - tail.length()))
                .append(counts);
        example(b, "missing", missing, tail.length());
        example(b, "unexpected", unexpected, tail.length());
        example(b, "wrong shape", misshaped, tail.length());
        return b.append(tail).toString();
    }

    private static String counts(List<String> missing, List<String> unexpected, List<String> misshaped) {
        return " does not match the model (strict loading): " + missing.size() + " missing, " + unexpected.size() + " unexpected, "
                + misshaped.size() + " with the wrong shape";
    }

    /** {@code source} in at most {@code room} characters: its start, "...", and its last path element kept whole. */
    static String fit(String source, int room) {
        if (source.length() <= room) return source;
        int name = Math.max(source.lastIndexOf('/'), source.lastIndexOf('\\'));
        if (name < 0) return source;
        String end = source.substring(name);
        int head = room - end.length() - 3;
        return head < 8 ? source : source.substring(0, head) + "..." + end;  // a name too long to shorten stays whole
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
