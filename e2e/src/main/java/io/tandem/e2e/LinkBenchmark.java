package io.tandem.e2e;

import io.tandem.model.checkpoint.Llama2cCheckpointReader;
import io.tandem.model.checkpoint.Llama2cCheckpointWriter;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.llama.ModelShapes;
import io.tandem.model.llama.RandomWeights;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;

/**
 * Benchmarks the cloud link end to end: the issuer and the cloud start once, then one edge per
 * activation codec (fp32, fp16, int8, each without and with zstd), all as processes from their
 * built jars, talking over loopback. For every codec it times greedy streamed completions on the
 * local, split and cloud routes from the client's side (time to the first text chunk, and to the
 * end), and reads the bytes each side put on the link from their Prometheus meters.
 *
 * <p>Run it with {@code bin/tandem bench-link [options]}; {@code --help} lists them. The table goes
 * to stdout as markdown, progress to stderr, the services' logs to e2e/target/bench-logs.
 */
public final class LinkBenchmark {

    private static final Duration STARTUP = Duration.ofSeconds(180);

    static final String USAGE = """
            usage: bin/tandem bench-link [options]

            Starts the issuer and cloud-service once and an edge-service per link codec, on this machine,
            and prints a markdown table of decode speed, time to first token and link bytes per token for
            the local, split and cloud routes. Every service shares this machine's cores.

            options:
              --model PATH         a llama2.c checkpoint, served by the edge and the cloud (default: the
                                   embedded stories260K)
              --random-25m         write a seeded random 25M-parameter model (dim 512, 8 layers, FFN 1536,
                                   vocab 512; the one CloudKilledMidStreamTest uses) to a temporary folder
                                   and serve that
              --runs N             measured completions per route and codec (default 5)
              --tokens M           max_tokens of each completion (default 200)
              --warmup N           unmeasured completions per route before measuring (default 2)
              --split K            the split route runs layers [0, K) on the edge (default 2)
              --prompt TEXT        the prompt (default "Once upon a time")
              --codecs LIST        activation codecs to try (default fp32,fp16,int8)
              --zstd LIST          off, on or off,on (default off,on)
              --routes LIST        any of local,split,cloud (default all three)
              --local-cloud-once   run the local and cloud routes with the first codec only (their frames
                                   carry no activations; by default every codec runs every route, which
                                   also shows how much the numbers move between edges)
              --edge-threads N     tandem.model.threads of the edge (default: its config, 0 = automatic)
              --cloud-threads N    tandem.cloud.pool.threads of the cloud (default: its config, 1)
              --logs DIR           where the services' logs go (default e2e/target/bench-logs)

            JVM options of the services: -XX:+UseParallelGC and $TANDEM_JAVA_OPTS (default
            -XX:MaxRAMPercentage=30), as bin/tandem starts them.
            """;

    record Options(Path model, boolean random25m, int runs, int maxTokens, int warmup, int split, String prompt,
                   List<String> codecs, List<Boolean> zstd, List<String> routes, boolean localCloudOnce,
                   Integer edgeThreads, Integer cloudThreads, Path logDir) {
    }

    /** One edge configuration: an activation dtype on the wire, with or without zstd. */
    record LinkCodec(String dtype, boolean zstd) {
        String label() {
            return zstd ? dtype + "+zstd" : dtype;
        }
    }

    /** One measured completion, timed by the client. */
    record Sample(int tokens, double ttftMs, double totalMs, double edgeTtftMs, String route, List<String> warnings,
                  String text, JsonNode tandem) {
        double decodeTokensPerSecond() {
            return tokens > 1 && totalMs > ttftMs ? (tokens - 1) / ((totalMs - ttftMs) / 1000) : Double.NaN;
        }
    }

    /** One table row: a route under one codec, medians over the runs and bytes from the meters. */
    record Row(String route, String codec, int tokens, double decodeMedian, double decodeMin, double decodeMax,
               double ttftMedian, double edgeTtftMedian, double upBytesPerToken, double framePerPosition,
               double downBytesPerToken,
               double cloudStepMs, double controlUpPerRequest, double controlDownPerRequest, int fallbacks,
               String sameText) {
    }

    public static void main(String[] args) throws Exception {
        Options options;
        try {
            if (Arrays.asList(args).contains("--help") || Arrays.asList(args).contains("-h")) {
                System.out.print(USAGE);
                return;
            }
            options = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("bench-link: " + e.getMessage() + " (--help lists the options)");
            System.exit(2);
            return;
        }
        try {
            run(options, args, System.out);
        } catch (IllegalArgumentException e) {
            System.err.println("bench-link: " + e.getMessage());
            System.exit(2);
        } catch (IllegalStateException | IOException e) {
            System.err.println("bench-link: " + e.getMessage());
            System.exit(1);
        }
        System.exit(0);
    }

    static Options parse(String[] args) {
        Path model = null;
        boolean random25m = false;
        int runs = 5;
        int maxTokens = 200;
        int warmup = 2;
        int split = 2;
        String prompt = "Once upon a time";
        List<String> codecs = List.of("fp32", "fp16", "int8");
        List<Boolean> zstd = List.of(false, true);
        List<String> routes = List.of("local", "split", "cloud");
        boolean localCloudOnce = false;
        Integer edgeThreads = null;
        Integer cloudThreads = null;
        Path logDir = ServiceProcess.repositoryRoot().resolve("e2e").resolve("target").resolve("bench-logs");
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            String name = arg;
            String value = null;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                name = arg.substring(0, eq);
                value = arg.substring(eq + 1);
            }
            switch (name) {
                case "--random-25m" -> random25m = true;
                case "--local-cloud-once" -> localCloudOnce = true;
                case "--model", "--runs", "--tokens", "--warmup", "--split", "--prompt", "--codecs", "--zstd",
                     "--routes", "--edge-threads", "--cloud-threads", "--logs" -> {
                    if (value == null) {
                        if (i + 1 >= args.length) {
                            throw new IllegalArgumentException(name + " needs a value");
                        }
                        value = args[++i];
                    }
                    switch (name) {
                        case "--model" -> {
                            model = Path.of(value).toAbsolutePath();
                            if (!Files.isRegularFile(model)) {
                                throw new IllegalArgumentException("--model " + value + ": no such file");
                            }
                        }
                        case "--runs" -> runs = positive(name, value);
                        case "--tokens" -> maxTokens = positive(name, value);
                        case "--warmup" -> warmup = nonNegative(name, value);
                        case "--split" -> split = positive(name, value);
                        case "--prompt" -> prompt = value;
                        case "--codecs" -> codecs = list(name, value, List.of("fp32", "fp16", "int8"));
                        case "--zstd" -> zstd = list(name, value, List.of("off", "on")).stream().map("on"::equals).toList();
                        case "--routes" -> routes = list(name, value, List.of("local", "split", "cloud"));
                        case "--edge-threads" -> edgeThreads = nonNegative(name, value);
                        case "--cloud-threads" -> cloudThreads = nonNegative(name, value);
                        case "--logs" -> logDir = Path.of(value).toAbsolutePath();
                        default -> throw new AssertionError(name);
                    }
                }
                default -> throw new IllegalArgumentException("unknown option '" + arg + "'");
            }
        }
        if (model != null && random25m) {
            throw new IllegalArgumentException("--model and --random-25m exclude each other");
        }
        if (maxTokens < 2) {
            throw new IllegalArgumentException("--tokens must be at least 2 to time decoding");
        }
        return new Options(model, random25m, runs, maxTokens, warmup, split, prompt, codecs, zstd, routes, localCloudOnce,
                edgeThreads, cloudThreads, logDir);
    }

    private static int positive(String name, String value) {
        int n = nonNegative(name, value);
        if (n == 0) {
            throw new IllegalArgumentException(name + " must be positive");
        }
        return n;
    }

    private static int nonNegative(String name, String value) {
        try {
            int n = Integer.parseInt(value);
            if (n < 0) {
                throw new IllegalArgumentException(name + " must not be negative, was " + value);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " needs a number, was '" + value + "'");
        }
    }

    private static List<String> list(String name, String value, List<String> allowed) {
        List<String> items = Stream.of(value.split(",")).map(s -> s.trim().toLowerCase(Locale.ROOT))
                .filter(s -> !s.isEmpty()).distinct().toList();
        if (items.isEmpty()) {
            throw new IllegalArgumentException(name + " needs at least one of " + allowed);
        }
        for (String item : items) {
            if (!allowed.contains(item)) {
                throw new IllegalArgumentException(name + ": '" + item + "' is not one of " + allowed);
            }
        }
        return items;
    }

    static void run(Options o, String[] args, PrintStream out) throws Exception {
        Path tempDir = null;
        Path model = o.model();
        LlamaConfig config;
        String modelName;
        if (o.random25m()) {
            tempDir = Files.createTempDirectory("tandem-bench-model");
            model = tempDir.resolve("random-25m.bin");
            config = RandomWeights.STORIES_25M;
            progress("writing the random 25M model to " + model);
            Llama2cCheckpointWriter.write(RandomWeights.create(config, 1), model);
            modelName = "random 25M (seed 1)";
        } else if (model != null) {
            config = Llama2cCheckpointReader.read(model).weights().config();
            modelName = model.getFileName().toString();
        } else {
            config = Llama2cCheckpointReader.embedded().weights().config();
            modelName = "stories260K (embedded)";
        }
        if (o.routes().contains("split") && o.split() >= config.layers()) {
            throw new IllegalArgumentException("--split " + o.split() + " leaves no layer for the cloud: the model has "
                    + config.layers());
        }
        List<ServiceProcess> running = new CopyOnWriteArrayList<>();
        Thread hook = new Thread(() -> running.forEach(ServiceProcess::close), "bench-link-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        List<String> jvm = serviceJvmOptions();
        List<Row> rows = new ArrayList<>();
        String loadBefore = loadAverage();
        try {
            int issuerPort = ServiceProcess.freePort();
            int cloudPort = ServiceProcess.freePort();
            String issuerUrl = "http://127.0.0.1:" + issuerPort;
            progress("starting the issuer (:" + issuerPort + ") and cloud-service (:" + cloudPort + "); logs in " + o.logDir());
            ServiceProcess issuer = ServiceProcess.start("issuer", "issuer", issuerPort,
                    List.of("--spring.security.oauth2.authorizationserver.issuer=" + issuerUrl,
                            Devices.issuerArgument(o.logDir())), o.logDir(), jvm);
            running.add(issuer);
            List<String> cloudArgs = new ArrayList<>(List.of("--tandem.cloud.security.issuer=" + issuerUrl,
                    "--tandem.cloud.security.jwk-set-uri=" + issuerUrl + "/oauth2/jwks",
                    "--tandem.cloud.security.revocation-list-uri=" + issuerUrl + "/devices/revoked"));
            if (model != null) {
                cloudArgs.add("--tandem.cloud.pool.embedded=false");
                cloudArgs.add("--tandem.cloud.pool.models[0].path=" + model);
            }
            if (o.cloudThreads() != null) {
                cloudArgs.add("--tandem.cloud.pool.threads=" + o.cloudThreads());
            }
            ServiceProcess cloud = ServiceProcess.start("cloud-service", "cloud", cloudPort, cloudArgs, o.logDir(), jvm);
            running.add(cloud);
            issuer.awaitHealthy(STARTUP);
            cloud.awaitHealthy(STARTUP);
            EdgeClient cloudClient = new EdgeClient(cloud.baseUrl());

            List<LinkCodec> codecs = new ArrayList<>();
            for (String dtype : o.codecs()) {
                for (boolean z : o.zstd()) {
                    codecs.add(new LinkCodec(dtype, z));
                }
            }
            for (int c = 0; c < codecs.size(); c++) {
                LinkCodec codec = codecs.get(c);
                boolean first = c == 0;
                List<String> routes = o.routes().stream()
                        .filter(r -> r.equals("split") || first || !o.localCloudOnce()).toList();
                if (routes.isEmpty()) {
                    continue;
                }
                List<String> edgeArgs = new ArrayList<>(List.of("--tandem.link.codec=" + codec.dtype(),
                        "--tandem.link.zstd=" + codec.zstd(), "--tandem.link.split-layer=" + o.split()));
                if (model != null) {
                    edgeArgs.add("--tandem.model.path=" + model);
                }
                if (o.edgeThreads() != null) {
                    edgeArgs.add("--tandem.model.threads=" + o.edgeThreads());
                }
                int edgePort = ServiceProcess.freePort();
                progress("starting edge-service (:" + edgePort + ") with codec " + codec.label());
                ServiceProcess edge = TandemStack.startEdge(edgePort, cloudPort, issuerUrl, edgeArgs, o.logDir(), jvm);
                running.add(edge);
                try {
                    EdgeClient edgeClient = new EdgeClient(edge.baseUrl());
                    awaitLinkUp(edgeClient, edge);
                    // the greedy local answer, which split and cloud reproduce exactly unless the codec changes a token
                    String localText = complete(edgeClient, EdgeClient.request(o.prompt(), o.maxTokens(), true,
                            "local", null)).text();
                    for (String route : routes) {
                        progress("  " + route + " with " + codec.label() + ": " + o.warmup() + " warm-up, "
                                + o.runs() + " measured completions of up to " + o.maxTokens() + " tokens");
                        Row row = measure(edgeClient, cloudClient, route, codec, o, localText);
                        progress(String.format(Locale.ROOT, "    decode %.1f tok/s, TTFT %.1f ms, %.1f B/token up",
                                row.decodeMedian(), row.ttftMedian(), row.upBytesPerToken()));
                        rows.add(row);
                    }
                } finally {
                    edge.close();
                    running.remove(edge);
                }
            }
        } finally {
            running.forEach(ServiceProcess::close);
            running.clear();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // shutting down already
            }
            if (tempDir != null) {
                Files.deleteIfExists(model);
                Files.deleteIfExists(tempDir);
            }
        }
        report(out, o, args, config, modelName, rows, loadBefore, loadAverage());
    }

    /** The 1, 5 and 15 minute load averages, to tell a quiet run from a busy one; "n/a" without /proc. */
    static String loadAverage() {
        try {
            String[] fields = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return fields[0] + " " + fields[1] + " " + fields[2];
        } catch (IOException | RuntimeException e) {
            return "n/a";
        }
    }

    /** What bin/tandem gives a service: the parallel collector and TANDEM_JAVA_OPTS (else a heap limit). */
    static List<String> serviceJvmOptions() {
        List<String> options = new ArrayList<>(List.of("-XX:+UseParallelGC"));
        String env = System.getenv("TANDEM_JAVA_OPTS");
        if (env == null || env.isBlank()) {
            options.add("-XX:MaxRAMPercentage=30");
        } else {
            options.addAll(Arrays.asList(env.trim().split("\\s+")));
        }
        return options;
    }

    private static void awaitLinkUp(EdgeClient edge, ServiceProcess process) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (edge.get("/actuator/health").contains("\"link\":\"UP\"")) {
                return;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("the edge's cloud link did not come up within 60 s:\n" + process.tail());
    }

    static Row measure(EdgeClient edge, EdgeClient cloud, String route, LinkCodec codec, Options o, String localText)
            throws Exception {
        Integer k = route.equals("split") ? o.split() : null;
        String body = EdgeClient.request(o.prompt(), o.maxTokens(), true, route, k);
        for (int i = 0; i < o.warmup(); i++) {
            complete(edge, body);
        }
        String dataLabel = switch (route) {
            case "split" -> codec.label();
            case "cloud" -> "tokens";
            default -> null;
        };
        // The prompt's frame alone: a one-token completion sends Open and that one data frame.
        double promptFrame = 0;
        if (dataLabel != null) {
            Map<String, Double> before = scrape(edge);
            complete(edge, EdgeClient.request(o.prompt(), 1, true, route, k));
            promptFrame = delta(before, scrape(edge), "tandem_link_frame_bytes_sum", "codec", dataLabel);
        }
        Map<String, Double> edge0 = scrape(edge);
        Map<String, Double> cloud0 = scrape(cloud);
        List<Sample> samples = new ArrayList<>();
        for (int i = 0; i < o.runs(); i++) {
            samples.add(complete(edge, body));
        }
        Map<String, Double> edge1 = scrape(edge);
        Map<String, Double> cloud1 = scrape(cloud);

        int fallbacks = (int) samples.stream().filter(s -> !s.warnings().isEmpty() || !route.equals(s.route())).count();
        samples.stream().filter(s -> !s.warnings().isEmpty()).findFirst()
                .ifPresent(s -> progress("    warning from the edge: " + s.warnings()));
        long tokens = samples.stream().mapToLong(Sample::tokens).sum();
        double up = Double.NaN;
        double frame = Double.NaN;
        double down = Double.NaN;
        double step = Double.NaN;
        double controlUp = Double.NaN;
        double controlDown = Double.NaN;
        if (dataLabel != null) {
            double upBytes = delta(edge0, edge1, "tandem_link_frame_bytes_sum", "codec", dataLabel);
            double upFrames = delta(edge0, edge1, "tandem_link_frame_bytes_count", "codec", dataLabel);
            up = upBytes / tokens;
            frame = upFrames > o.runs() ? (upBytes - o.runs() * promptFrame) / (upFrames - o.runs()) : Double.NaN;
            down = delta(cloud0, cloud1, "tandem_cloud_frame_bytes_sum", "codec", "token", "direction", "out") / tokens;
            double stepSeconds = delta(cloud0, cloud1, "tandem_cloud_step_latency_seconds_sum");
            double steps = delta(cloud0, cloud1, "tandem_cloud_step_latency_seconds_count");
            step = steps > 0 ? stepSeconds / steps * 1000 : Double.NaN;
            controlUp = delta(edge0, edge1, "tandem_link_frame_bytes_sum", "codec", "control") / o.runs();
            controlDown = delta(cloud0, cloud1, "tandem_cloud_frame_bytes_sum", "codec", "control", "direction", "out")
                    / o.runs();
        }
        List<Double> decode = samples.stream().map(Sample::decodeTokensPerSecond).sorted().toList();
        long same = samples.stream().filter(s -> s.text().equals(localText)).count();
        String sameText = same == samples.size() ? "yes" : same + "/" + samples.size()
                + samples.stream().filter(s -> !s.text().equals(localText)).findFirst()
                        .map(s -> ", from char " + firstDifference(s.text(), localText)).orElse("");
        return new Row(route, route.equals("local") ? "—" : route.equals("cloud") ? "tokens" : codec.label(),
                (int) Math.round(median(samples.stream().map(s -> (double) s.tokens()).toList())),
                median(decode), decode.getFirst(), decode.getLast(),
                median(samples.stream().map(Sample::ttftMs).toList()),
                median(samples.stream().map(Sample::edgeTtftMs).toList()), up, frame, down, step, controlUp, controlDown,
                fallbacks, sameText);
    }

    private static int firstDifference(String a, String b) {
        int n = Math.min(a.length(), b.length());
        for (int i = 0; i < n; i++) {
            if (a.charAt(i) != b.charAt(i)) {
                return i;
            }
        }
        return n;
    }

    /** One streamed completion: time to the first text chunk and to the end, as the client sees them. */
    static Sample complete(EdgeClient edge, String body) throws Exception {
        long start = System.nanoTime();
        long first = 0;
        int tokens = -1;
        String route = null;
        JsonNode last = null;
        double edgeTtft = Double.NaN;
        List<String> warnings = new ArrayList<>();
        StringBuilder content = new StringBuilder();
        try (BufferedReader reader = edge.stream(body)) {
            String data;
            while ((data = EdgeClient.nextData(reader)) != null && !data.equals("[DONE]")) {
                long now = System.nanoTime();
                JsonNode chunk = EdgeClient.JSON.readTree(data);
                if (chunk.has("error")) {
                    throw new IllegalStateException("the edge streamed an error: " + data);
                }
                JsonNode text = chunk.at("/choices/0/text");
                if (text.isString() && !text.stringValue().isEmpty()) {
                    content.append(text.stringValue());
                    if (first == 0) {
                        first = now;
                    }
                }
                JsonNode usage = chunk.get("usage");
                if (usage != null && !usage.isNull()) {
                    tokens = usage.get("completion_tokens").asInt();
                }
                JsonNode tandem = chunk.get("tandem");
                if (tandem != null) {
                    last = tandem;
                    route = tandem.at("/route").stringValue();
                    if (tandem.has("ttft_ms")) {
                        edgeTtft = tandem.get("ttft_ms").asDouble();
                    }
                    for (JsonNode warning : tandem.path("warnings")) {
                        warnings.add(warning.stringValue());
                    }
                }
            }
        }
        long end = System.nanoTime();
        if (tokens < 0 || first == 0) {
            throw new IllegalStateException("the edge's stream ended without " + (first == 0 ? "text" : "usage"));
        }
        return new Sample(tokens, (first - start) / 1e6, (end - start) / 1e6, edgeTtft, route, warnings,
                content.toString(), last);
    }

    /** The edge's or the cloud's meters in Prometheus text: series (name with labels) to value. */
    static Map<String, Double> scrape(EdgeClient service) throws Exception {
        Map<String, Double> series = new HashMap<>();
        for (String line : service.get("/actuator/prometheus").split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int space = line.lastIndexOf(' ');
            if (space < 0) {
                continue;
            }
            String value = line.substring(space + 1).trim();
            try {
                series.put(line.substring(0, space).trim(), switch (value) {
                    case "+Inf" -> Double.POSITIVE_INFINITY;
                    case "-Inf" -> Double.NEGATIVE_INFINITY;
                    default -> Double.parseDouble(value);
                });
            } catch (NumberFormatException e) {
                // not a sample line
            }
        }
        return series;
    }

    /** The sum over the series of {@code name} carrying all of {@code labels} (name, value, ...). */
    static double total(Map<String, Double> series, String name, String... labels) {
        double sum = 0;
        for (Map.Entry<String, Double> e : series.entrySet()) {
            String key = e.getKey();
            if (!key.equals(name) && !key.startsWith(name + "{")) {
                continue;
            }
            boolean all = true;
            for (int i = 0; i < labels.length; i += 2) {
                all &= key.contains(labels[i] + "=\"" + labels[i + 1] + "\"");
            }
            if (all) {
                sum += e.getValue();
            }
        }
        return sum;
    }

    static double delta(Map<String, Double> before, Map<String, Double> after, String name, String... labels) {
        return total(after, name, labels) - total(before, name, labels);
    }

    static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted(Comparator.naturalOrder()).toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    static void report(PrintStream out, Options o, String[] args, LlamaConfig config, String modelName, List<Row> rows,
                       String loadBefore, String loadAfter) {
        out.println();
        out.printf(Locale.ROOT, "Model: %s: dim %d, %d layers, %d heads, %d KV heads, FFN %d, vocab %d, %,d parameters%n",
                modelName, config.dim(), config.layers(), config.heads(), config.kvHeads(), config.hiddenDim(),
                config.vocabSize(), ModelShapes.parameterCount(config));
        out.printf(Locale.ROOT, "Arguments: %s%n", args.length == 0 ? "(none)" : String.join(" ", args));
        out.printf(Locale.ROOT, "%d measured streamed completions per row after %d warm-up, greedy, max_tokens %d,"
                        + " prompt \"%s\"; split at layer %d; edge threads %s, cloud threads %s%n",
                o.runs(), o.warmup(), o.maxTokens(), o.prompt(), o.split(),
                o.edgeThreads() == null ? "config default" : o.edgeThreads(),
                o.cloudThreads() == null ? "config default" : o.cloudThreads());
        out.printf(Locale.ROOT, "%d cores; load average (1, 5, 15 min) %s at the start, %s at the end%n",
                Runtime.getRuntime().availableProcessors(), loadBefore, loadAfter);
        out.println();
        out.println("| route | codec | tokens | decode tok/s (median) | decode tok/s (min-max) | TTFT ms (median)"
                + " | edge TTFT ms (median) | bytes/token up | 1-position frame up (B) | bytes/token down"
                + " | cloud step ms (mean) | text = local |");
        out.println("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
        for (Row r : rows) {
            String route = r.route().equals("split") ? "split (k=" + o.split() + ")" : r.route();
            if (r.fallbacks() > 0) {
                route += " (" + r.fallbacks() + " fell back)";
            }
            out.printf(Locale.ROOT, "| %s | %s | %d | %.1f | %.1f-%.1f | %.1f | %s | %s | %s | %s | %s | %s |%n",
                    route, r.codec(), r.tokens(), r.decodeMedian(), r.decodeMin(), r.decodeMax(), r.ttftMedian(),
                    num(r.edgeTtftMedian()),
                    num(r.upBytesPerToken()), num(r.framePerPosition()), num(r.downBytesPerToken()), num(r.cloudStepMs()),
                    r.route().equals("local") ? "—" : r.sameText());
        }
        out.println();
        out.println("TTFT: from sending the request to the first text chunk, at the client; edge TTFT: the edge's own"
                + " tandem.ttft_ms. Decode tok/s: (tokens - 1) / (end of stream - first text chunk). Bytes per token:"
                + " the data frames' bytes (edge: tandem_link_frame_bytes, activations or token ids, prompt frame"
                + " included; cloud: tandem_cloud_frame_bytes direction=out, token frames) over the tokens generated."
                + " 1-position frame: the mean decode-step frame, the prompt's frame taken out. Cloud step: the"
                + " cloud's tandem_cloud_step_latency_seconds mean (its layers and sampling, prefill steps included)."
                + " Text = local: the answer is the local route's greedy answer, character for character.");
        for (String route : List.of("split", "cloud")) {
            rows.stream().filter(r -> r.route().equals(route)).findFirst().ifPresent(r -> out.printf(Locale.ROOT,
                    "%nControl frames on the %s route (not in the table): %.0f B up (Open, and Close if the model"
                            + " ended before max_tokens) and %.0f B down (Opened) per request.%n",
                    route, r.controlUpPerRequest(), r.controlDownPerRequest()));
        }
    }

    private static String num(double value) {
        return Double.isNaN(value) ? "—" : String.format(Locale.ROOT, "%.1f", value);
    }

    private static void progress(String message) {
        System.err.println("bench-link: " + message);
    }
}
