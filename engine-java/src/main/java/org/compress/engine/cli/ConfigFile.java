// `-c config.yaml`: a flat YAML map of option names (without dashes, e.g. `batch-size: 64`, or an official alias
// such as `compress_memory_size`) whose values become the defaults of the command's options; flags on the
// command line still win. `--print-config` prints the resolved options in the same form, so its output is a
// valid config file.
package org.compress.engine.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import org.compress.engine.EngineException;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

final class ConfigFile implements CommandLine.IDefaultValueProvider {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final java.util.Set<String> NOT_CONFIG = java.util.Set.of("config", "print-config", "help", "version");

    private final Path file;
    private final Map<String, String> values;

    private ConfigFile(Path file, Map<String, String> values) {
        this.file = file;
        this.values = values;
    }

    /** The -c / --config file named in args (anywhere), or null. */
    static ConfigFile fromArgs(String... args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if ((a.equals("-c") || a.equals("--config")) && i + 1 < args.length) return load(Path.of(args[i + 1]));
            if (a.startsWith("--config=")) return load(Path.of(a.substring("--config=".length())));
        }
        return null;
    }

    static ConfigFile load(Path file) {
        if (!Files.isRegularFile(file)) throw new EngineException("config file " + file + " does not exist");
        JsonNode root;
        try {
            root = YAML.readTree(file.toFile());
        } catch (IOException e) {
            throw new EngineException("config file " + file + " is not valid YAML: " + e.getMessage().lines().findFirst().orElse(""), e);
        }
        if (root == null || !root.isObject()) throw new EngineException("config file " + file + ": expected a map of option: value, found "
                + (root == null ? "nothing" : root.getNodeType()));
        Map<String, String> values = new LinkedHashMap<>();
        root.fields().forEachRemaining(e -> {
            JsonNode v = e.getValue();
            if (v.isContainerNode()) {
                if (!v.isArray()) throw new EngineException("config file " + file + ": '" + e.getKey() + "' must be a value or a list, found a map");
                StringBuilder b = new StringBuilder();
                v.forEach(x -> b.append(b.length() == 0 ? "" : ",").append(x.asText()));
                values.put(e.getKey(), b.toString());
            } else {
                values.put(e.getKey(), v.isNull() ? null : v.asText());
            }
        });
        return new ConfigFile(file, values);
    }

    @Override public String defaultValue(ArgSpec arg) {
        if (!(arg instanceof OptionSpec o)) return null;
        for (String name : o.names()) {
            String key = name.replaceFirst("^-+", "");
            if (values.containsKey(key)) return values.get(key);
        }
        return null;
    }

    /** Every key must name an option of the command that runs (a typo is an error, not a silent default). */
    void checkKeys(CommandSpec spec) {
        java.util.Set<String> known = new TreeSet<>();
        for (OptionSpec o : spec.options()) for (String n : o.names()) known.add(n.replaceFirst("^-+", ""));
        for (String key : values.keySet()) {
            if (!known.contains(key) || NOT_CONFIG.contains(key)) {
                throw new EngineException("config file " + file + ": '" + key + "' is not an option of `compress " + spec.name() + "`");
            }
        }
    }

    /** An option's first long name without dashes (the engine's own; official aliases come after it). */
    static String primaryName(OptionSpec o) {
        for (String n : o.names()) if (n.startsWith("--")) return n.substring(2);
        return o.longestName().replaceFirst("^-+", "");
    }

    /** The command's resolved options as YAML (first long name without dashes: value). */
    static String print(CommandSpec spec) {
        try {
            return YAML.writeValueAsString(options(spec));
        } catch (IOException e) {
            throw new EngineException("cannot print the configuration: " + e.getMessage(), e);
        }
    }

    /** The command's resolved options (longest name without dashes -> value), as config.json records them. */
    static Map<String, Object> options(CommandSpec spec) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (OptionSpec o : spec.options()) {
            String key = primaryName(o);
            if (NOT_CONFIG.contains(key)) continue;
            Object v = o.getValue();
            if (v instanceof int[] a) v = java.util.Arrays.stream(a).boxed().toList();
            if (v instanceof Path p) v = p.toString();
            if (v instanceof Enum<?> en) v = en.name();
            out.put(key, v);
        }
        return out;
    }
}
