package io.tandem.e2e.wan;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the emulated link does to each direction, after toxiproxy's toxics: a one-way latency
 * ({@code latency}), a uniform jitter of +-{@code jitter} around it (never reordering bytes: TCP
 * would not either), and a bandwidth cap ({@code bandwidth}) in bits per second, 0 = uncapped.
 * "Up" is client to server (the edge to the cloud), "down" the reverse.
 */
public record WanSettings(Duration delayUp, Duration delayDown, Duration jitter, long rateUpBits, long rateDownBits) {

    /** No delay, no cap: a plain TCP relay. */
    public static final WanSettings NONE = new WanSettings(Duration.ZERO, Duration.ZERO, Duration.ZERO, 0, 0);

    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(us|ms|s)?");
    private static final Pattern RATE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)?");

    public WanSettings {
        requireNonNegative(delayUp, "delay up");
        requireNonNegative(delayDown, "delay down");
        requireNonNegative(jitter, "jitter");
        if (rateUpBits < 0 || rateDownBits < 0) {
            throw new IllegalArgumentException("rates must be >= 0 bit/s (0 = uncapped), were " + rateUpBits + " and "
                    + rateDownBits);
        }
    }

    /** A symmetric link: half the round trip each way, the same cap both ways. */
    public static WanSettings symmetric(Duration rtt, long rateBits) {
        Duration half = rtt.dividedBy(2);
        return new WanSettings(half, rtt.minus(half), Duration.ZERO, rateBits, rateBits);
    }

    public WanSettings withJitter(Duration amount) {
        return new WanSettings(delayUp, delayDown, amount, rateUpBits, rateDownBits);
    }

    public Duration rtt() {
        return delayUp.plus(delayDown);
    }

    /** "40ms", "0.5s", "800us" or a bare number of milliseconds. */
    public static Duration parseDuration(String text) {
        Matcher m = DURATION.matcher(text.trim().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a duration such as 40ms, 0.1s or 500us");
        }
        double value = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "ms" : m.group(2);
        double nanos = switch (unit) {
            case "us" -> value * 1e3;
            case "s" -> value * 1e9;
            default -> value * 1e6;
        };
        return Duration.ofNanos(Math.round(nanos));
    }

    /** tc's units: "20mbit" (bits/s), "2.5mbps" (bytes/s), "0" uncapped; a bare number is bits/s. */
    public static long parseRate(String text) {
        Matcher m = RATE.matcher(text.trim().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a rate such as 20mbit, 512kbit or 2mbps");
        }
        double value = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "bit" : m.group(2);
        double bits = switch (unit) {
            case "kbit" -> value * 1e3;
            case "mbit" -> value * 1e6;
            case "gbit" -> value * 1e9;
            case "bps" -> value * 8;
            case "kbps" -> value * 8e3;
            case "mbps" -> value * 8e6;
            case "gbps" -> value * 8e9;
            default -> value;
        };
        return Math.round(bits);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "rtt %d ms (up %d, down %d), jitter %d ms, rate up %s, down %s",
                rtt().toMillis(), delayUp.toMillis(), delayDown.toMillis(), jitter.toMillis(), rate(rateUpBits),
                rate(rateDownBits));
    }

    private static String rate(long bits) {
        return bits == 0 ? "uncapped" : String.format(Locale.ROOT, "%.3g Mbit/s", bits / 1e6);
    }

    private static void requireNonNegative(Duration d, String what) {
        if (d == null || d.isNegative()) {
            throw new IllegalArgumentException(what + " must be >= 0, was " + d);
        }
    }
}
