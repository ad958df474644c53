package io.tandem.cli.bench;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What one configuration measured, as the child JVM reports it on one line that starts with
 * {@link #PREFIX}. Memory figures are KiB, or -1 where they could not be read (no /proc).
 *
 * @param buildSeconds   random weights or checkpoint load, graph build and session creation
 * @param prefillTokensPerSecond prompt tokens over the time of one forward pass over the prompt
 * @param decodeTokensPerSecond  timed decode steps over their total time (the first step is untimed)
 * @param rssDecodingKib VmRSS at the end of decoding, after the Java-side weights were collected
 * @param peakRssKib     VmHWM at the end: the peak resident set of the whole run, building included
 * @param loadPeakRssKib VmHWM once the session is open, before any token: the peak of loading and building
 * @param firstTokenSeconds from the JVM's start to the first token of the prompt (load, build or cache,
 *                       session, one pass over the prompt, sampling)
 * @param graphBuilds    graphs built (0 when the cache held them), -1 where not counted
 */
public record BenchResult(double buildSeconds, double prefillTokensPerSecond, double decodeTokensPerSecond,
                          long rssDecodingKib, long peakRssKib, long loadPeakRssKib, double firstTokenSeconds,
                          int graphBuilds) {

    public BenchResult(double buildSeconds, double prefillTokensPerSecond, double decodeTokensPerSecond,
                       long rssDecodingKib, long peakRssKib) {
        this(buildSeconds, prefillTokensPerSecond, decodeTokensPerSecond, rssDecodingKib, peakRssKib, -1, -1, -1);
    }

    public static final String PREFIX = "TANDEM_BENCH_RESULT ";
    public static final String ERROR_PREFIX = "TANDEM_BENCH_ERROR ";

    public String toLine() {
        return PREFIX + String.format(Locale.ROOT,
                "build_s=%.3f prefill_tps=%.3f decode_tps=%.3f rss_decoding_kib=%d peak_rss_kib=%d load_peak_rss_kib=%d "
                        + "first_token_s=%.3f graph_builds=%d",
                buildSeconds, prefillTokensPerSecond, decodeTokensPerSecond, rssDecodingKib, peakRssKib, loadPeakRssKib,
                firstTokenSeconds, graphBuilds);
    }

    /** The result on {@code line}, or null when the line is not a result line. */
    public static BenchResult parse(String line) {
        if (!line.startsWith(PREFIX)) {
            return null;
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (String pair : line.substring(PREFIX.length()).trim().split("\\s+")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                values.put(pair.substring(0, eq), pair.substring(eq + 1));
            }
        }
        try {
            return new BenchResult(Double.parseDouble(values.get("build_s")),
                    Double.parseDouble(values.get("prefill_tps")),
                    Double.parseDouble(values.get("decode_tps")),
                    Long.parseLong(values.get("rss_decoding_kib")),
                    Long.parseLong(values.get("peak_rss_kib")),
                    Long.parseLong(values.get("load_peak_rss_kib")),
                    Double.parseDouble(values.get("first_token_s")),
                    Integer.parseInt(values.get("graph_builds")));
        } catch (RuntimeException e) {
            throw new IllegalStateException("malformed bench result line: " + line, e);
        }
    }
}
