package io.tandem.edge.routing;

/**
 * How fast the device generates, learned from its own finished answers (an exponentially weighted
 * mean), starting from configured guesses. Thread-safe.
 */
public final class LocalSpeed {

    private static final double WEIGHT = 0.2;

    private double msPerToken;
    private double msPerPromptToken;

    public LocalSpeed(double initialMsPerToken, double initialMsPerPromptToken) {
        if (!(initialMsPerToken > 0) || !(initialMsPerPromptToken > 0)) {
            throw new IllegalArgumentException("initial speeds must be positive");
        }
        this.msPerToken = initialMsPerToken;
        this.msPerPromptToken = initialMsPerPromptToken;
    }

    /** One finished local answer: its prefill time over its prompt, its decode time over its later tokens. */
    public synchronized void observe(int promptTokens, long prefillNanos, int decodedTokens, long decodeNanos) {
        if (promptTokens > 0 && prefillNanos > 0) {
            msPerPromptToken += WEIGHT * (prefillNanos / 1e6 / promptTokens - msPerPromptToken);
        }
        if (decodedTokens > 0 && decodeNanos > 0) {
            msPerToken += WEIGHT * (decodeNanos / 1e6 / decodedTokens - msPerToken);
        }
    }

    public synchronized double msPerToken() {
        return msPerToken;
    }

    public synchronized double msPerPromptToken() {
        return msPerPromptToken;
    }
}
