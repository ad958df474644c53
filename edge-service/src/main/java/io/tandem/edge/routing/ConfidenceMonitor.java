package io.tandem.edge.routing;

import io.tandem.model.sampling.TokenChoice;

/**
 * Watches a local answer's confidence token by token and says when it has dropped: the mean
 * logprob of the last {@code window} tokens below the threshold (once a window is full), or one
 * token's margin below the minimum, or its entropy above the maximum (NaN turns a test off).
 * One per answer; not thread-safe.
 */
public final class ConfidenceMonitor {

    private final double minMeanLogprob;
    private final double minMargin;
    private final double maxEntropy;
    private final float[] window;
    private int seen;
    private double sum;
    private String lastReason;

    public ConfidenceMonitor(int window, double minMeanLogprob, double minMargin, double maxEntropy) {
        if (window < 1) {
            throw new IllegalArgumentException("window must be >= 1, was " + window);
        }
        this.window = new float[window];
        this.minMeanLogprob = minMeanLogprob;
        this.minMargin = minMargin;
        this.maxEntropy = maxEntropy;
    }

    /** Records one chosen token; true when confidence has now dropped below the bar. */
    public boolean dropped(TokenChoice choice) {
        float logprob = Float.isFinite(choice.logprob()) ? choice.logprob() : -30f; // a forced token is no confidence
        int slot = seen % window.length;
        if (seen >= window.length) {
            sum -= window[slot];
        }
        window[slot] = logprob;
        sum += logprob;
        seen++;
        if (seen >= window.length && sum / window.length < minMeanLogprob) {
            lastReason = String.format(java.util.Locale.ROOT, "mean logprob %.3f over the last %d tokens < %.3f",
                    sum / window.length, window.length, minMeanLogprob);
            return true;
        }
        if (!Double.isNaN(minMargin) && Float.isFinite(choice.margin()) && choice.margin() < minMargin) {
            lastReason = String.format(java.util.Locale.ROOT, "margin %.3f < %.3f", choice.margin(), minMargin);
            return true;
        }
        if (!Double.isNaN(maxEntropy) && Float.isFinite(choice.entropy()) && choice.entropy() > maxEntropy) {
            lastReason = String.format(java.util.Locale.ROOT, "entropy %.3f > %.3f", choice.entropy(), maxEntropy);
            return true;
        }
        return false;
    }

    /** Why the last {@link #dropped} call said true. */
    public String reason() {
        return lastReason;
    }
}
