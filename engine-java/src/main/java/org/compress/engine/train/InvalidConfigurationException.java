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

    private static String message(List<String> problems) {
        StringBuilder b = new StringBuilder();
        int shown = 0;
        for (String p : problems) {
            if (shown > 0 && b.length() + p.length() + 2 > MESSAGE_BUDGET) break;
            if (shown > 0) b.append("; ");
            b.append(p.length() > MESSAGE_BUDGET ? p.substring(0, MESSAGE_BUDGET - 3) + "..." : p);
            shown++;
        }
        if (shown < problems.size()) b.append(" (and ").append(problems.size() - shown).append(" more problems, see the log)");
        return b.toString();
    }
}
