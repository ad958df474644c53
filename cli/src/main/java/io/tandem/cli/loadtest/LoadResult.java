package io.tandem.cli.loadtest;

import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** What one load level produced, and its row of the markdown table. */
public record LoadResult(int clients, long elapsedNanos, List<RequestRecord> requests) {

    public LoadResult {
        requests = List.copyOf(requests);
    }

    public static final String HEADER = """
            | clients | requests | ok | 429 | errors | ok req/s | tokens/s | TTFT P50 ms | TTFT P95 ms | latency P50 ms | latency P95 ms |
            | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |""";

    public long count(Outcome outcome) {
        return requests.stream().filter(r -> r.outcome() == outcome).count();
    }

    public long errors() {
        return requests.stream().filter(r -> r.outcome().error()).count();
    }

    /** Content chunks received in every 200 stream, finished or not. */
    public long tokens() {
        return requests.stream().mapToLong(RequestRecord::tokens).sum();
    }

    public double seconds() {
        return elapsedNanos / 1e9;
    }

    /** Errors by kind, in {@link Outcome} order, only the kinds that occurred. */
    public Map<Outcome, Long> errorsByKind() {
        Map<Outcome, Long> counts = new EnumMap<>(Outcome.class);
        for (RequestRecord r : requests) {
            if (r.outcome().error()) {
                counts.merge(r.outcome(), 1L, Long::sum);
            }
        }
        return counts;
    }

    /** Percentile {@code p} of time to first token over ok requests, in milliseconds. */
    public double ttftMillis(double p) {
        return Percentiles.nearestRank(requests.stream().filter(r -> r.outcome() == Outcome.OK && r.ttftNanos() >= 0)
                .mapToDouble(r -> r.ttftNanos() / 1e6).toArray(), p);
    }

    /** Percentile {@code p} of whole-request latency over ok requests, in milliseconds. */
    public double latencyMillis(double p) {
        return Percentiles.nearestRank(requests.stream().filter(r -> r.outcome() == Outcome.OK)
                .mapToDouble(r -> r.latencyNanos() / 1e6).toArray(), p);
    }

    public String row() {
        double s = seconds();
        return String.format(Locale.ROOT, "| %d | %d | %d | %d | %d | %.2f | %.1f | %s | %s | %s | %s |",
                clients, requests.size(), count(Outcome.OK), count(Outcome.REJECTED), errors(),
                count(Outcome.OK) / s, tokens() / s,
                millis(ttftMillis(50)), millis(ttftMillis(95)), millis(latencyMillis(50)), millis(latencyMillis(95)));
    }

    private static String millis(double ms) {
        return Double.isNaN(ms) ? "-" : String.format(Locale.ROOT, "%.1f", ms);
    }
}
