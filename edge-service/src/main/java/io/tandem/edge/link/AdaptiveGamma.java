package io.tandem.edge.link;

/**
 * How many tokens to draft per round: the expected run of accepted tokens, 1 / (1 - alpha) with
 * alpha the running (exponentially weighted) acceptance rate per drafted token, within the
 * configured bounds. A draft that agrees 83% of the time gets about 6; one that agrees half the
 * time, 2: drafting far past the first likely rejection costs draft time and bytes for nothing.
 */
final class AdaptiveGamma {

    /** Weight of the newest round in the running rate. */
    static final double WEIGHT = 0.3;

    private final int min;
    private final int max;
    private double acceptance;
    private int current;

    AdaptiveGamma(int initial, int min, int max) {
        if (min < 1 || min > initial || initial > max) {
            throw new IllegalArgumentException("gamma bounds need 1 <= min <= initial <= max, were " + min + ", " + initial
                    + ", " + max);
        }
        this.min = min;
        this.max = max;
        this.current = initial;
        // the rate for which the initial gamma is the right one
        this.acceptance = 1.0 - 1.0 / (initial + 1.0);
    }

    int current() {
        return current;
    }

    double acceptance() {
        return acceptance;
    }

    /** One round drafted {@code drafted} tokens and the cloud accepted {@code accepted}. */
    void observe(int drafted, int accepted) {
        if (drafted < 1 || accepted < 0 || accepted > drafted) {
            throw new IllegalArgumentException(accepted + " accepted of " + drafted + " drafted");
        }
        double rate = accepted / (double) drafted;
        acceptance = (1 - WEIGHT) * acceptance + WEIGHT * rate;
        double run = acceptance >= 1.0 ? Double.POSITIVE_INFINITY : 1.0 / (1.0 - acceptance);
        current = (int) Math.max(min, Math.min(max, Math.round(run)));
    }
}
