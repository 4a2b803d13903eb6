// Strict loading failed: the checkpoint's keys do not match the model's. Lists every missing, unexpected and
// mis-shaped key at once (the message shows the first 20 of each with the counts) so one run shows the whole problem.
package org.compress.engine.io;

import java.util.List;

public class CheckpointMismatchException extends CheckpointException {
    static final int SHOWN = 20;

    private final List<String> missing;
    private final List<String> unexpected;
    private final List<String> misshaped;

    public CheckpointMismatchException(String source, List<String> missing, List<String> unexpected, List<String> misshaped) {
        super(message(source, missing, unexpected, misshaped));
        this.missing = List.copyOf(missing);
        this.unexpected = List.copyOf(unexpected);
        this.misshaped = List.copyOf(misshaped);
    }

    /** Keys the model needs that the checkpoint lacks. */
    public List<String> missing() { return missing; }

    /** Keys in the checkpoint that the model does not have. */
    public List<String> unexpected() { return unexpected; }

    /** "name: checkpoint [..] vs model [..]" for keys present on both sides with different shapes. */
    public List<String> misshaped() { return misshaped; }

    private static String message(String source, List<String> missing, List<String> unexpected, List<String> misshaped) {
        StringBuilder b = new StringBuilder(source).append(" does not match the model (strict loading): ")
                .append(missing.size()).append(" missing, ").append(unexpected.size()).append(" unexpected, ")
                .append(misshaped.size()).append(" with the wrong shape");
        section(b, "missing (in the model, not in the checkpoint)", missing);
        section(b, "unexpected (in the checkpoint, not in the model)", unexpected);
        section(b, "wrong shape", misshaped);
        return b.toString();
    }

    private static void section(StringBuilder b, String title, List<String> items) {
        if (items.isEmpty()) return;
        b.append("\n  ").append(title).append(" [").append(items.size()).append("]:");
        for (int i = 0; i < Math.min(SHOWN, items.size()); i++) b.append("\n    ").append(items.get(i));
        if (items.size() > SHOWN) b.append("\n    ... and ").append(items.size() - SHOWN).append(" more");
    }
}
