package io.tandem.cli;

import io.tandem.cli.loadtest.Durations;
import io.tandem.cli.loadtest.LoadResult;
import io.tandem.cli.loadtest.LoadRunner;
import io.tandem.cli.loadtest.Outcome;
import io.tandem.cli.loadtest.RequestRecord;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tandem loadtest}: concurrent streaming chat completions against an edge service. */
@Command(name = "loadtest", mixinStandardHelpOptions = true,
        description = {"Load an edge service with concurrent streaming chat completions and print a markdown table.",
                "",
                "Each of N clients sends POST /v1/chat/completions with \"stream\": true, one request after another, "
                        + "for the duration (requests under way at the end run to their end); after a 429 it waits "
                        + "for Retry-After.",
                "",
                "ok: 200 with a stream ending in [DONE]. errors: any other status, a stream without [DONE] or with "
                        + "an error event, transport errors and timeouts. Throughput is over the whole run: ok "
                        + "requests/s and content chunks/s. TTFT (first content chunk) and latency (to [DONE]) "
                        + "percentiles are over ok requests, nearest rank, measured from just before sending.",
                ""})
final class LoadTestCommand implements Callable<Integer> {

    static final String CHAT_PATH = "/v1/chat/completions";

    @Option(names = "--url", paramLabel = "URL", defaultValue = "http://localhost:8080",
            description = "The edge service, or its full " + CHAT_PATH + " address (default: ${DEFAULT-VALUE}).")
    String url;

    @Option(names = "--clients", paramLabel = "N[,N...]", split = ",", hideParamSyntax = true, defaultValue = "1",
            description = "Concurrent clients; a list runs each level in turn, one table row each (default: ${DEFAULT-VALUE}).")
    List<Integer> clients;

    @Option(names = "--duration", paramLabel = "TIME", defaultValue = "30s", converter = DurationConverter.class,
            description = "How long each level sends requests: 500ms, 30s, 2m (default: ${DEFAULT-VALUE}).")
    Duration duration;

    @Option(names = "--max-tokens", paramLabel = "N", defaultValue = "64",
            description = "max_tokens of each request (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--prompt", paramLabel = "TEXT", defaultValue = "Once upon a time",
            description = "The user message (default: ${DEFAULT-VALUE}).")
    String prompt;

    @Option(names = "--timeout", paramLabel = "TIME", defaultValue = "120s", converter = DurationConverter.class,
            description = "A request not finished by then counts as an error (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    @Option(names = "--max-backoff", paramLabel = "TIME", defaultValue = "10s", converter = DurationConverter.class,
            description = "The longest wait after a 429, whatever Retry-After says (default: ${DEFAULT-VALUE}).")
    Duration maxBackoff;

    @Option(names = "--think-time", paramLabel = "TIME", defaultValue = "0ms", converter = DurationConverter.class,
            description = "Pause between a client's requests, other than after a 429 (default: ${DEFAULT-VALUE}).")
    Duration thinkTime;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        URI endpoint = endpoint(url);
        for (int n : clients) {
            if (n < 1) {
                throw new IllegalArgumentException("--clients must be at least 1, was " + n);
            }
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("--max-tokens must be at least 1, was " + maxTokens);
        }
        if (duration.isNegative() || duration.isZero() || timeout.isNegative() || timeout.isZero()
                || maxBackoff.isNegative() || thinkTime.isNegative()) {
            throw new IllegalArgumentException(
                    "--duration and --timeout must be positive, --max-backoff and --think-time not negative");
        }
        LoadRunner runner = new LoadRunner(
                new LoadRunner.Config(endpoint, duration, maxTokens, prompt, timeout, maxBackoff, thinkTime));
        boolean header = false;
        for (int n : clients) {
            err.printf("tandem loadtest: %d client%s for %s against %s (max_tokens %d)%n", n, n == 1 ? "" : "s",
                    Durations.format(duration), endpoint, maxTokens);
            LoadResult result = runner.run(n);
            if (!header) {
                out.println(LoadResult.HEADER);
                header = true;
            }
            out.println(result.row());
            out.flush();
            report(result, err);
        }
        return 0;
    }

    /** Errors by kind and one example of each outcome other than ok, so a failure can be told apart from load. */
    private static void report(LoadResult result, PrintWriter err) {
        Map<Outcome, Long> errors = result.errorsByKind();
        if (!errors.isEmpty()) {
            StringBuilder line = new StringBuilder("tandem loadtest: errors:");
            errors.forEach((kind, count) -> line.append(' ').append(kind.label).append(' ').append(count).append(';'));
            err.println(line.substring(0, line.length() - 1));
        }
        for (Outcome outcome : Outcome.values()) {
            if (outcome == Outcome.OK) {
                continue;
            }
            result.requests().stream().filter(r -> r.outcome() == outcome).findFirst()
                    .map(RequestRecord::detail)
                    .ifPresent(detail -> err.println("tandem loadtest: first " + outcome.label + ": " + detail));
        }
    }

    /** The chat completions address: the service's base URL gets {@value #CHAT_PATH} appended. */
    static URI endpoint(String url) {
        URI uri;
        try {
            uri = new URI(url.strip());
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("--url: '" + url + "' is not a URL: " + e.getReason());
        }
        if (uri.getScheme() == null || !(uri.getScheme().equals("http") || uri.getScheme().equals("https"))
                || uri.getHost() == null) {
            throw new IllegalArgumentException("--url: '" + url + "' is not an http:// or https:// URL with a host");
        }
        String path = uri.getPath() == null ? "" : uri.getPath();
        if (!path.endsWith(CHAT_PATH)) {
            path = path.replaceAll("/+$", "") + CHAT_PATH;
        }
        try {
            return new URI(uri.getScheme(), uri.getUserInfo(), uri.getHost(), uri.getPort(), path, uri.getQuery(), null);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("--url: " + e.getMessage());
        }
    }

    static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            try {
                return Durations.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
