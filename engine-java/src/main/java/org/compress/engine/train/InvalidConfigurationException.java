// A run's configuration cannot work (a bad option, missing data, an unreadable teacher, a resume checkpoint that does
// not fit): raised by ConfigValidator before any work starts and before the run directory exists. The message is one
// line (the first problems); problems() lists all of them.
package org.compress.engine.train;

import java.util.List;
import org.compress.engine.EngineException;

public class InvalidConfigurationException extends EngineException {
    private static final int MESSAGE_BUDGET = 300;
    private final List<String> problems;

    public InvalidConfigurationException(List<String> problems) {
        super(message(problems));
        this.problems = List.copyOf(problems);
    }

    /** Every problem found, each one line. */
    public List<String> problems() { return problems; }

    /**
     * As many whole problems as fit in about 300 characters, the rest counted; a lone problem that is too long is
     * cut in its middle, keeping its start (what and which file) and a closing "(...)" such as "(full lists in the log)".
     */
    static String message(List<String> problems) {
        int n = problems.size();
        for (int shown = n; shown >= 1; shown--) {
            String more = shown < n ? " (and " + (n - shown) + " more problems, see the log)" : "";
            String joined = String.join("; ", problems.subList(0, shown));
            if (joined.length() + more.length() <= MESSAGE_BUDGET) return joined + more;
            if (shown == 1) return shorten(problems.get(0), MESSAGE_BUDGET - more.length()) + more;
        }
        return "invalid configuration";
    }

    /** {@code p} in at most {@code budget} characters: its start, " ...", and its closing parenthesis if it has one. */
    static String shorten(String p, int budget) {
        if (p.length() <= budget) return p;
        String tail = "";
        int open = p.lastIndexOf(" (");
        if (p.endsWith(")") && open > 0 && p.length() - open <= budget / 3) tail = p.substring(open);
        String cut = " ...";
        int room = budget - tail.length() - cut.length();
        String head = p.substring(0, room);
        int boundary = head.lastIndexOf("; ");
        if (boundary >= room / 2) head = head.substring(0, boundary);  // end at a whole part rather than mid-word
        return head + cut + tail;
    }
}
