package io.tandem.cli.bench;

import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.WeightPrecision;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One benchmark configuration: which model, how it is built and run, and how long it runs. It
 * travels to the child JVM as {@code --key value} arguments ({@link #toArgs()}, {@link #parse}).
 *
 * @param source        {@code embedded}, {@code model:PATH} (llama2.c checkpoint) or {@code shape:NAME}
 * @param precision     projection weight precision
 * @param flavour       graph flavour
 * @param threads       ONNX Runtime intra-op threads, 0 lets it choose
 * @param promptTokens  prompt length of the prefill pass
 * @param decodeTokens  single-token decode steps; the first is not timed
 * @param seed          seed for random weights and prompt ids
 * @param cacheDir      graph cache directory for a GGUF model ("" for none: the graph is built into a
 *                      temporary file)
 * @param firstTokenOnly stop after the first token: a start-up measurement, no decode timing
 */
public record BenchConfig(String source, WeightPrecision precision, GraphFlavour flavour, int threads,
                          int promptTokens, int decodeTokens, long seed, String cacheDir, boolean firstTokenOnly) {

    public BenchConfig(String source, WeightPrecision precision, GraphFlavour flavour, int threads,
                       int promptTokens, int decodeTokens, long seed) {
        this(source, precision, flavour, threads, promptTokens, decodeTokens, seed, "", false);
    }

    /** The same configuration started with the graph cache in {@code dir}, up to its first token or not. */
    public BenchConfig withCache(String dir, boolean onlyFirstToken) {
        return new BenchConfig(source, precision, flavour, threads, promptTokens, decodeTokens, seed, dir, onlyFirstToken);
    }

    public static final String EMBEDDED = "embedded";
    public static final String MODEL_PREFIX = "model:";
    public static final String SHAPE_PREFIX = "shape:";

    public BenchConfig {
        if (source == null || !(source.equals(EMBEDDED) || source.startsWith(MODEL_PREFIX) || source.startsWith(SHAPE_PREFIX))) {
            throw new IllegalArgumentException("source must be embedded, model:PATH or shape:NAME, was " + source);
        }
        if (precision == null || flavour == null) {
            throw new IllegalArgumentException("precision and flavour must be given");
        }
        if (threads < 0) {
            throw new IllegalArgumentException("threads must be 0 (automatic) or positive, was " + threads);
        }
        if (promptTokens < 1) {
            throw new IllegalArgumentException("prompt tokens must be at least 1, was " + promptTokens);
        }
        if (cacheDir == null) {
            throw new IllegalArgumentException("cacheDir must be given (\"\" for none)");
        }
        if (decodeTokens < 2) {
            throw new IllegalArgumentException("decode tokens must be at least 2 (the first step is not timed), was " + decodeTokens);
        }
    }

    public List<String> toArgs() {
        List<String> args = new ArrayList<>();
        args.addAll(List.of("--source", source));
        args.addAll(List.of("--weights", precision.label()));
        args.addAll(List.of("--flavour", flavour.label()));
        args.addAll(List.of("--threads", Integer.toString(threads)));
        args.addAll(List.of("--prompt-tokens", Integer.toString(promptTokens)));
        args.addAll(List.of("--decode-tokens", Integer.toString(decodeTokens)));
        args.addAll(List.of("--seed", Long.toString(seed)));
        if (!cacheDir.isEmpty()) {
            args.addAll(List.of("--cache-dir", cacheDir));
        }
        if (firstTokenOnly) {
            args.addAll(List.of("--first-token-only", "true"));
        }
        return args;
    }

    public static BenchConfig parse(String[] args) {
        Map<String, String> values = new TreeMap<>();
        for (int i = 0; i < args.length; i += 2) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --key value pairs, got " + String.join(" ", args));
            }
            values.put(args[i].substring(2), args[i + 1]);
        }
        return new BenchConfig(require(values, "source"),
                WeightPrecision.parse(require(values, "weights")),
                GraphFlavour.parse(require(values, "flavour")),
                Integer.parseInt(require(values, "threads")),
                Integer.parseInt(require(values, "prompt-tokens")),
                Integer.parseInt(require(values, "decode-tokens")),
                Long.parseLong(require(values, "seed")),
                values.getOrDefault("cache-dir", ""),
                Boolean.parseBoolean(values.getOrDefault("first-token-only", "false")));
    }

    private static String require(Map<String, String> values, String key) {
        String v = values.get(key);
        if (v == null) {
            throw new IllegalArgumentException("missing --" + key);
        }
        return v;
    }
}
