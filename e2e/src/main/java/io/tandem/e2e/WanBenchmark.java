package io.tandem.e2e;

import io.tandem.e2e.wan.WanProxy;
import io.tandem.e2e.wan.WanSettings;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import tools.jackson.databind.JsonNode;

/**
 * {@code bin/tandem bench-wan}: every route behind the WAN emulator. The issuer and the cloud start
 * once; three edges link to the cloud through one {@link WanProxy} (lockstep deliveries; the
 * defaults: streaming cloud route and speculative split with the int4 draft; the early-exit draft
 * and the cloud route with a local draft), and the proxy is reshaped between the profiles
 * (loopback, then RTT 40 ms at 20 Mbit/s, then RTT 100 ms at 5 Mbit/s). Each route is timed from
 * the client for short and long answers; the link's bytes come from the proxy's counters, the
 * rounds and acceptance from each answer's trace. Then the seed's comparison: the median answer
 * latency of an edge-first mix (route auto) against all-cloud (every request streamed by the
 * cloud). Markdown to stdout, progress to stderr.
 */
public final class WanBenchmark {

    static final String USAGE = """
            usage: bin/tandem bench-wan [--runs N] [--warmup N] [--tokens 60,200] [--split K] [--profiles LIST]

            Starts the issuer, cloud-service and three edge-services on this machine, the edges' link
            through an emulated WAN, and prints markdown tables: per profile and answer length, P50/P95
            time to first and last token at the client, tokens/s, tokens per round trip, draft
            acceptance and link bytes per token for the routes local, split (lockstep, speculative with
            the int4 and the early-exit draft), cloud (lockstep, streaming, with a local draft),
            escalate, and the edge-first against all-cloud comparison. Every service shares this
            machine's cores.

            options:
              --runs N          measured completions per row (default 3)
              --warmup N        unmeasured completions per row first (default 1)
              --tokens LIST     max_tokens of the answers (default 60,200)
              --split K         the split layer (default 2)
              --profiles LIST   any of loopback,40ms,100ms (default all three)
              --logs DIR        the services' logs (default e2e/target/bench-logs)
            """;

    /** A link profile: the emulator's settings and a name for the tables. */
    record Profile(String name, WanSettings settings) {
    }

    static final List<Profile> PROFILES = List.of(
            new Profile("loopback", WanSettings.NONE),
            new Profile("40ms", WanSettings.symmetric(Duration.ofMillis(40), 20_000_000)),
            new Profile("100ms", WanSettings.symmetric(Duration.ofMillis(100), 5_000_000)));

    /** One route on one edge. */
    record Case(String label, int edge, String route, boolean split) {
    }

    static final List<Case> CASES = List.of(
            new Case("local", 1, "local", false),
            new Case("split lockstep", 0, "split", true),
            new Case("split speculative, int4 draft", 1, "split", true),
            new Case("split speculative, early-exit draft", 2, "split", true),
            new Case("cloud lockstep", 0, "cloud", false),
            new Case("cloud streaming (all-cloud baseline)", 1, "cloud", false),
            new Case("cloud with local draft", 2, "cloud", false),
            new Case("escalate", 1, "escalate", false));

    static final List<String> MIX = List.of("Once upon a time", "The little dog", "One day, a girl named Lily",
            "Tom and Sue went to the park", "There was a big red ball", "The sun was hot and", "Mom said",
            "A bird sat on a tree");

    record Row(String profile, int maxTokens, String label, int tokens, double ttft50, double ttft95, double last50,
               double last95, double tokensPerSecond, String perRoundTrip, String acceptance, double upPerToken,
               double downPerToken, int fallbacks, boolean sameText) {
    }

    private WanBenchmark() {}

    public static void main(String[] args) throws Exception {
        int runs = 3;
        int warmup = 1;
        List<Integer> tokens = List.of(60, 200);
        int split = 2;
        List<String> profiles = List.of("loopback", "40ms", "100ms");
        Path logs = ServiceProcess.repositoryRoot().resolve("e2e").resolve("target").resolve("bench-logs");
        try {
            for (int i = 0; i < args.length; i++) {
                String name = args[i];
                if (name.equals("--help") || name.equals("-h")) {
                    System.out.print(USAGE);
                    return;
                }
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(name + " needs a value");
                }
                String value = args[++i];
                switch (name) {
                    case "--runs" -> runs = positive(name, value);
                    case "--warmup" -> warmup = Integer.parseInt(value);
                    case "--tokens" -> tokens = Arrays.stream(value.split(",")).map(v -> positive(name, v.trim())).toList();
                    case "--split" -> split = positive(name, value);
                    case "--profiles" -> {
                        profiles = Arrays.stream(value.split(",")).map(String::trim).toList();
                        for (String p : profiles) {
                            if (PROFILES.stream().noneMatch(x -> x.name().equals(p))) {
                                throw new IllegalArgumentException("--profiles: unknown profile '" + p
                                        + "' (loopback, 40ms, 100ms)");
                            }
                        }
                    }
                    case "--logs" -> logs = Path.of(value).toAbsolutePath();
                    default -> throw new IllegalArgumentException("unknown option '" + name + "'");
                }
            }
        } catch (IllegalArgumentException e) {
            System.err.println("bench-wan: " + e.getMessage() + " (--help lists the options)");
            System.exit(2);
        }
        run(runs, warmup, tokens, split, profiles, logs, System.out);
        System.exit(0);
    }

    static void run(int runs, int warmup, List<Integer> tokenCounts, int split, List<String> profileNames, Path logs,
                    PrintStream out) throws Exception {
        List<ServiceProcess> running = new CopyOnWriteArrayList<>();
        String loadBefore = LinkBenchmark.loadAverage();
        List<Row> rows = new ArrayList<>();
        List<String> mixLines = new ArrayList<>();
        Instant started = Instant.now();
        TandemStack stack = TandemStack.startWithoutEdge(logs, List.of());
        Thread hook = new Thread(() -> {
            running.forEach(ServiceProcess::close);
            stack.close();
        }, "bench-wan-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try (WanProxy wan = WanProxy.start(0, new InetSocketAddress("127.0.0.1", stack.cloud.port()), WanSettings.NONE)) {
            List<String> common = List.of("--tandem.link.split-layer=" + split, "--tandem.link.token-timeout=10s");
            List<List<String>> edgeArgs = List.of(
                    List.of("--tandem.delivery.cloud=lockstep", "--tandem.delivery.split=lockstep"),
                    List.of("--tandem.delivery.draft=int4"),
                    List.of("--tandem.delivery.draft=early-exit", "--tandem.delivery.cloud=draft"));
            List<EdgeClient> edges = new ArrayList<>();
            for (List<String> args : edgeArgs) {
                List<String> all = new ArrayList<>(common);
                all.addAll(args);
                progress("starting an edge with " + args);
                ServiceProcess edge = stack.startEdgeVia(wan.port(), all);
                running.add(edge);
                edges.add(new EdgeClient(edge.baseUrl()));
            }
            for (String profileName : profileNames) {
                Profile profile = PROFILES.stream().filter(p -> p.name().equals(profileName)).findFirst().orElseThrow();
                wan.settings(profile.settings());
                progress("profile " + profile.name() + ": " + profile.settings());
                for (int maxTokens : tokenCounts) {
                    String localText = LinkBenchmark.complete(edges.get(1), EdgeClient.request(MIX.getFirst(), maxTokens,
                            true, "local", null)).text();
                    for (Case c : CASES) {
                        Row row = measure(profile.name(), edges.get(c.edge()), wan, c, maxTokens, split, runs, warmup,
                                localText);
                        progress(String.format(Locale.ROOT, "  %s, %d tokens, %s: last token P50 %.0f ms, %.1f tok/s",
                                profile.name(), maxTokens, c.label(), row.last50(), row.tokensPerSecond()));
                        rows.add(row);
                    }
                }
                mixLines.add(edgeFirst(profile.name(), edges.get(1)));
            }
        } finally {
            running.forEach(ServiceProcess::close);
            stack.close();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // shutting down already
            }
        }
        report(out, rows, mixLines, runs, warmup, split, loadBefore, LinkBenchmark.loadAverage(),
                Duration.between(started, Instant.now()));
    }

    static Row measure(String profile, EdgeClient edge, WanProxy wan, Case c, int maxTokens, int split, int runs,
                       int warmup, String localText) throws Exception {
        String body = EdgeClient.request(MIX.getFirst(), maxTokens, true, c.route(), c.split() ? split : null);
        for (int i = 0; i < warmup; i++) {
            LinkBenchmark.complete(edge, body);
        }
        List<Double> ttft = new ArrayList<>();
        List<Double> last = new ArrayList<>();
        List<Double> speed = new ArrayList<>();
        long up = 0;
        long down = 0;
        int tokens = 0;
        int rounds = 0;
        int drafted = 0;
        int accepted = 0;
        int fallbacks = 0;
        boolean same = true;
        String delivery = null;
        for (int i = 0; i < runs; i++) {
            long upBefore = wan.bytesUp();
            long downBefore = wan.bytesDown();
            LinkBenchmark.Sample sample = LinkBenchmark.complete(edge, body);
            up += wan.bytesUp() - upBefore;
            down += wan.bytesDown() - downBefore;
            tokens += sample.tokens();
            ttft.add(sample.ttftMs());
            last.add(sample.totalMs());
            speed.add(sample.decodeTokensPerSecond());
            same &= sample.text().equals(localText);
            fallbacks += sample.warnings().isEmpty() ? 0 : 1;
            JsonNode link = sample.tandem() == null ? null : sample.tandem().at("/trace/outcome/link");
            if (link != null && link.isObject()) {
                delivery = link.at("/delivery").stringValue();
                rounds += link.at("/rounds").asInt();
                drafted += link.at("/drafted").asInt();
                accepted += link.at("/accepted").asInt();
            }
        }
        String perRoundTrip = switch (delivery == null ? "none" : delivery) {
            case "lockstep" -> "1.0";
            case "speculative" -> String.format(Locale.ROOT, "%.2f", tokens / (double) (rounds + runs));
            case "stream" -> "stream";
            default -> "-";
        };
        String acceptance = drafted == 0 ? "-" : String.format(Locale.ROOT, "%.2f", accepted / (double) drafted);
        return new Row(profile, maxTokens, c.label(), tokens / runs, percentile(ttft, 50), percentile(ttft, 95),
                percentile(last, 50), percentile(last, 95), LinkBenchmark.median(speed), perRoundTrip, acceptance,
                up / (double) tokens, down / (double) tokens, fallbacks, same);
    }

    /** Median answer latency (time to the last token) of the prompt mix on route auto against all-cloud. */
    static String edgeFirst(String profile, EdgeClient edge) throws Exception {
        List<Double> auto = new ArrayList<>();
        List<Double> cloud = new ArrayList<>();
        List<String> routes = new ArrayList<>();
        for (String prompt : MIX) {
            LinkBenchmark.complete(edge, EdgeClient.request(prompt, 60, true, "cloud", null)); // warm
            LinkBenchmark.Sample a = LinkBenchmark.complete(edge, EdgeClient.request(prompt, 60, true, "auto", null));
            LinkBenchmark.Sample c = LinkBenchmark.complete(edge, EdgeClient.request(prompt, 60, true, "cloud", null));
            auto.add(a.totalMs());
            cloud.add(c.totalMs());
            routes.add(a.route());
        }
        double a50 = LinkBenchmark.median(auto);
        double c50 = LinkBenchmark.median(cloud);
        return String.format(Locale.ROOT, "| %s | %d | %.0f | %.0f | %.3f | %s |", profile, MIX.size(), a50, c50,
                a50 / c50, summarize(routes));
    }

    private static String summarize(List<String> routes) {
        StringBuilder out = new StringBuilder();
        routes.stream().distinct().forEach(r -> out.append(out.isEmpty() ? "" : ", ").append(r).append(" ")
                .append(routes.stream().filter(r::equals).count()));
        return out.toString();
    }

    static double percentile(List<Double> values, int p) {
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        if (sorted.length == 0) {
            return Double.NaN;
        }
        // nearest rank
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    static void report(PrintStream out, List<Row> rows, List<String> mix, int runs, int warmup, int split,
                       String loadBefore, String loadAfter, Duration took) {
        out.printf(Locale.ROOT, "bench-wan: %d measured runs per row after %d warm-up, split layer %d, model stories260K"
                + " (embedded); load average before %s, after %s; %d s%n%n", runs, warmup, split, loadBefore, loadAfter,
                took.toSeconds());
        out.println("| link | max tokens | route | tokens | TTFT P50 ms | TTFT P95 ms | last P50 ms | last P95 ms"
                + " | tok/s | tokens/round trip | acceptance | B/token up | B/token down | fallbacks | = local |");
        out.println("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
        for (Row r : rows) {
            out.printf(Locale.ROOT, "| %s | %d | %s | %d | %.0f | %.0f | %.0f | %.0f | %.1f | %s | %s | %.0f | %.0f | %d | %s |%n",
                    r.profile(), r.maxTokens(), r.label(), r.tokens(), r.ttft50(), r.ttft95(), r.last50(), r.last95(),
                    r.tokensPerSecond(), r.perRoundTrip(), r.acceptance(), r.upPerToken(), r.downPerToken(),
                    r.fallbacks(), r.sameText() ? "yes" : "NO");
        }
        out.println();
        out.println("| link | prompts | edge-first (auto) median ms | all-cloud median ms | ratio | routes auto chose |");
        out.println("| --- | ---: | ---: | ---: | ---: | --- |");
        mix.forEach(out::println);
    }

    private static int positive(String name, String value) {
        try {
            int n = Integer.parseInt(value);
            if (n < 1) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a positive integer, was '" + value + "'");
        }
    }

    private static void progress(String message) {
        System.err.println("bench-wan: " + message);
    }
}
