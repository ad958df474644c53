package io.tandem.cli;

import io.tandem.cli.bench.BenchConfig;
import io.tandem.cli.bench.BenchResult;
import io.tandem.cli.bench.ChildJvm;
import io.tandem.cli.bench.MachineFacts;
import io.tandem.model.checkpoint.Llama2cCheckpointReader;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.llama.ModelShapes;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.WeightPrecision;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tandem bench}: prefill and decode speed and memory for each combination of weight
 * precision, graph flavour and thread count. Each combination runs in its own child JVM, so the
 * peak memory reported is that combination's alone.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measure prefill and decode speed and memory, one child JVM per configuration.",
                "Prints a markdown table: one forward pass over a random prompt (prefill), then greedy",
                "single-token decode steps whose first step is not timed."})
final class BenchCommand implements Callable<Integer> {

    private static final Pattern PLAIN = Pattern.compile("[A-Za-z0-9_./:=,@%+-]+");

    @Option(names = "--model", paramLabel = "PATH",
            description = "GGUF file or llama2.c checkpoint to measure. Default: the embedded stories260K.")
    Path model;

    @Option(names = "--shape", paramLabel = "NAME",
            description = "Seeded random weights in a real model's shape: qwen2.5-0.5b or llama-3.2-1b (context "
                    + ModelShapes.BENCH_CONTEXT + ").")
    String shape;

    @Option(names = "--weights", paramLabel = "LIST", split = ",", defaultValue = "fp32,int8,int4",
            description = "Weight precisions to measure (default: ${DEFAULT-VALUE}).")
    List<String> weights;

    @Option(names = "--threads", paramLabel = "LIST", split = ",", defaultValue = "1,2",
            description = "ONNX Runtime intra-op thread counts to measure; 0 lets it choose (default: ${DEFAULT-VALUE}).")
    List<Integer> threads;

    @Option(names = "--flavour", paramLabel = "fast|portable", split = ",", defaultValue = "fast",
            description = "Graph flavour(s) to measure (default: ${DEFAULT-VALUE}).")
    List<String> flavours;

    @Option(names = "--prompt-tokens", paramLabel = "N", defaultValue = "32",
            description = "Random prompt tokens in the prefill pass (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--decode-tokens", paramLabel = "N", defaultValue = "32",
            description = "Decode steps; the first is not timed (default: ${DEFAULT-VALUE}).")
    int decodeTokens;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42",
            description = "Seed of the random weights and prompt (default: ${DEFAULT-VALUE}).")
    long seed;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        String source = source();
        String label = label();
        List<BenchConfig> configs = configs(source);

        out.println("# tandem bench");
        out.println();
        out.println("- command: `" + commandLine() + "`");
        out.println("- machine: " + MachineFacts.current().describe());
        out.println("- date: " + LocalDate.now());
        out.println("- model: " + label + "; prompt " + promptTokens + " random tokens, " + decodeTokens
                + " greedy decode steps, seed " + seed);
        out.println();
        out.println("| model | weights | flavour | threads | build (s) | prefill (tok/s) | decode (tok/s) "
                + "| RSS decoding (MiB) | peak RSS (MiB) | load peak RSS (MiB) | first token, cold start (s) "
                + "| first token, cached start (s) | load peak RSS, cached start (MiB) |");
        out.println("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        out.flush();

        List<String> failures = new ArrayList<>();
        boolean cacheable = model != null && LoadedModel.isGguf(model);
        for (BenchConfig plain : configs) {
            Path cache = cacheable ? Files.createTempDirectory("tandem-bench-cache") : null;
            BenchConfig config = cacheable ? plain.withCache(cache.toString(), false) : plain;
            ChildJvm.Outcome outcome;
            ChildJvm.Outcome cached = null;
            try {
                outcome = ChildJvm.run(config);
                if (outcome.ok() && cacheable) {
                    cached = ChildJvm.run(plain.withCache(cache.toString(), true));
                }
            } finally {
                if (cache != null) {
                    io.tandem.model.engine.GraphStore.deleteQuietly(cache);
                }
            }
            String head = String.format(Locale.ROOT, "| %s | %s | %s | %s ", label, config.precision().label(),
                    config.flavour().label(), config.threads() == 0 ? "auto" : Integer.toString(config.threads()));
            if (outcome.ok()) {
                BenchResult r = outcome.result();
                String cachedStart = cached == null ? "n/a"
                        : !cached.ok() ? "failed"
                        : String.format(Locale.ROOT, "%.1f%s", cached.result().firstTokenSeconds(),
                                cached.result().graphBuilds() == 0 ? "" : " (built " + cached.result().graphBuilds() + ")");
                if (cached != null && !cached.ok()) {
                    failures.add(config.precision().label() + "/" + config.flavour().label() + "/" + config.threads()
                            + " threads, cached start: " + cached.failure());
                }
                String cachedPeak = cached == null || !cached.ok() ? "n/a" : mib(cached.result().loadPeakRssKib());
                out.println(head + String.format(Locale.ROOT, "| %.1f | %.1f | %.1f | %s | %s | %s | %.1f | %s | %s |",
                        r.buildSeconds(), r.prefillTokensPerSecond(), r.decodeTokensPerSecond(),
                        mib(r.rssDecodingKib()), mib(r.peakRssKib()), mib(r.loadPeakRssKib()), r.firstTokenSeconds(),
                        cachedStart, cachedPeak));
            } else {
                out.println(head + "| failed | failed | failed | n/a | n/a | n/a | n/a | n/a | n/a |");
                failures.add(config.precision().label() + "/" + config.flavour().label() + "/" + config.threads()
                        + " threads: " + outcome.failure());
                if (!outcome.outputTail().isEmpty()) {
                    err.println("tandem bench: " + config.precision().label() + "/" + config.flavour().label() + "/"
                            + config.threads() + " threads failed; the child's last output:");
                    outcome.outputTail().forEach(line -> err.println("  " + line));
                    err.flush();
                }
            }
            out.flush();
        }
        out.println();
        out.println("Prefill: prompt tokens / time of one forward pass over the prompt (after one untimed pass on a "
                + "throwaway sequence). Decode: greedy argmax fed back one token per step, sampling included; "
                + "mean over the steps after the first. Build: weights, ONNX graph and session.");
        out.println("Load peak RSS: VmHWM once the session is open, before the first token: what loading the model "
                + "and building its graph cost at their peak. First token: from the child JVM's start to the first "
                + "token of the prompt (load, graph, session, one pass over the prompt). Cold start: the graph is "
                + "built (into an empty graph cache for a GGUF model); cached start: a second JVM opens the graph "
                + "the first one cached (GGUF models only; n/a otherwise).");
        out.println("RSS decoding: VmRSS at the end of decoding, after a full GC "
                + "(ONNX Runtime's weights, KV cache, the JVM). Peak RSS: the child JVM's VmHWM over the "
                + "whole run. n/a where /proc is unavailable.");
        if (shape != null) {
            ModelShapes.Shape s = ModelShapes.shape(shape);
            out.println("Shape " + s.name() + ": " + s.description() + ", " + String.format(Locale.ROOT, "%,d",
                    ModelShapes.parameterCount(s.config())) + " parameters, random weights (seed " + seed
                    + "); context " + ModelShapes.BENCH_CONTEXT + " tokens (the real model supports "
                    + s.realContextLength() + "), since the graph bakes rotary tables of context x headDim/2.");
        }
        out.flush();
        if (!failures.isEmpty()) {
            failures.forEach(f -> err.println("tandem bench: " + f));
            err.flush();
            return TandemCli.FAILURE;
        }
        return 0;
    }

    private String source() throws NoSuchFileException {
        if (model != null && shape != null) {
            throw new IllegalArgumentException("--model and --shape cannot be combined: give one of them");
        }
        if (shape != null) {
            return BenchConfig.SHAPE_PREFIX + ModelOptions.argument("--shape", () -> ModelShapes.shape(shape)).name();
        }
        if (model != null) {
            if (!Files.isRegularFile(model)) {
                throw new NoSuchFileException(model.toString());
            }
            return BenchConfig.MODEL_PREFIX + model.toAbsolutePath();
        }
        return BenchConfig.EMBEDDED;
    }

    private String label() {
        if (shape != null) {
            return ModelShapes.shape(shape).name() + " (random)";
        }
        if (model != null) {
            return model.getFileName().toString().replaceFirst("\\.(bin|gguf)$", "");
        }
        return LoadedModel.EMBEDDED_NAME;
    }

    private List<BenchConfig> configs(String source) {
        if (promptTokens < 1) {
            throw new IllegalArgumentException("--prompt-tokens must be at least 1, was " + promptTokens);
        }
        if (decodeTokens < 2) {
            throw new IllegalArgumentException("--decode-tokens must be at least 2 (the first step is not timed), was "
                    + decodeTokens);
        }
        int context = shape != null ? ModelShapes.BENCH_CONTEXT
                : model == null ? Llama2cCheckpointReader.embedded().weights().config().contextLength() : Integer.MAX_VALUE;
        if ((long) promptTokens + decodeTokens > context) {
            throw new IllegalArgumentException("--prompt-tokens " + promptTokens + " plus --decode-tokens " + decodeTokens
                    + " exceed the model's context of " + context + " tokens");
        }
        List<WeightPrecision> precisions = distinct(weights).stream()
                .map(w -> ModelOptions.argument("--weights", () -> WeightPrecision.parse(w.trim()))).toList();
        List<GraphFlavour> graphFlavours = distinct(flavours).stream()
                .map(f -> ModelOptions.argument("--flavour", () -> GraphFlavour.parse(f.trim()))).toList();
        for (int t : threads) {
            if (t < 0) {
                throw new IllegalArgumentException("--threads: thread counts must be 0 (automatic) or positive, was " + t);
            }
        }
        if (precisions.isEmpty() || graphFlavours.isEmpty() || threads.isEmpty()) {
            throw new IllegalArgumentException("--weights, --flavour and --threads each need at least one value");
        }
        List<BenchConfig> configs = new ArrayList<>();
        for (WeightPrecision p : precisions) {
            for (GraphFlavour f : graphFlavours) {
                for (int t : threads.stream().distinct().toList()) {
                    configs.add(new BenchConfig(source, p, f, t, promptTokens, decodeTokens, seed));
                }
            }
        }
        return configs;
    }

    private static List<String> distinct(List<String> values) {
        return values.stream().map(v -> v.trim().toLowerCase(Locale.ROOT)).filter(v -> !v.isEmpty()).distinct().toList();
    }

    private static String mib(long kib) {
        return kib < 0 ? "n/a" : Long.toString(Math.round(kib / 1024.0));
    }

    /** The command as typed, shell-quoted where needed. */
    private String commandLine() {
        List<String> args = spec.commandLine().getParseResult().originalArgs();
        int self = args.indexOf(spec.name());
        return "bin/tandem bench" + args.subList(self + 1, args.size()).stream()
                .map(a -> PLAIN.matcher(a).matches() ? a : "'" + a.replace("'", "'\\''") + "'")
                .map(a -> " " + a).collect(Collectors.joining());
    }
}
