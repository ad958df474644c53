package io.tandem.edge.inference;

import java.time.Duration;

/** Every generation slot is busy and the wait queue is full. */
public final class OverloadedException extends RuntimeException {
    private final Duration retryAfter;

    public OverloadedException(int active, int queued, Duration retryAfter) {
        super("all " + active + " generation slots are busy and " + queued + " requests are already waiting");
        this.retryAfter = retryAfter;
    }

    public Duration retryAfter() {
        return retryAfter;
    }
}
