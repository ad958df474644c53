package io.tandem.edge.routing;

/**
 * What the cloud costs: accelerator time and egress. A step's cost is its accelerator time (which
 * the cloud measures and reports on every token) times the price, plus the bytes it sent up.
 *
 * @param pricePerAcceleratorSecond currency units per accelerator-second
 * @param pricePerEgressMb          currency units per megabyte sent from the edge to the cloud
 * @param estimateMargin            factor on estimates, so that a reservation covers a slower than usual answer
 */
public record CostModel(double pricePerAcceleratorSecond, double pricePerEgressMb, double estimateMargin) {

    public CostModel {
        if (!(pricePerAcceleratorSecond >= 0) || !(pricePerEgressMb >= 0) || !(estimateMargin >= 1)) {
            throw new IllegalArgumentException("prices must be >= 0 and the estimate margin >= 1, were "
                    + pricePerAcceleratorSecond + ", " + pricePerEgressMb + ", " + estimateMargin);
        }
    }

    /** The cost of one step that took {@code computeMicros} on the accelerator and sent {@code bytesUp}. */
    public double stepCost(long computeMicros, long bytesUp) {
        return computeMicros / 1e6 * pricePerAcceleratorSecond + bytesUp / 1e6 * pricePerEgressMb;
    }

    /**
     * The most a request is expected to cost: one prefill of the prompt (counted as that many steps,
     * an upper bound since a prefill batches them) and {@code maxTokens} decode steps.
     */
    public double requestEstimate(int promptTokens, int maxTokens, double stepMs, long bytesPerToken) {
        long steps = (long) promptTokens + maxTokens;
        return estimateMargin * steps * stepCost(Math.round(stepMs * 1000), bytesPerToken);
    }
}
