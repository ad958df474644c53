package io.tandem.cli.loadtest;

/**
 * One request as a client saw it. Times are nanoseconds from just before sending; {@code ttftNanos}
 * is -1 when no content arrived. {@code detail} says what went wrong (status, body, exception) and
 * is null for a clean request.
 */
public record RequestRecord(Outcome outcome, int status, long ttftNanos, long latencyNanos, int tokens,
        long retryAfterMillis, String detail) {
}
