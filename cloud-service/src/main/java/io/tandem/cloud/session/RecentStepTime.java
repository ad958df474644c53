package io.tandem.cloud.session;

/**
 * An exponentially weighted mean of recent decode step times: recent enough to follow load, smooth
 * enough that one slow step does not swing an edge's routing. Thread-safe.
 */
public final class RecentStepTime {

    /** Weight of the newest step: about the last 20 steps carry the mean. */
    static final double WEIGHT = 0.1;

    private double meanNanos;
    private boolean any;

    public synchronized void record(long nanos) {
        meanNanos = any ? meanNanos + WEIGHT * (nanos - meanNanos) : nanos;
        any = true;
    }

    /** The mean in milliseconds; 0 before any step. */
    public synchronized float millis() {
        return (float) (meanNanos / 1e6);
    }
}
