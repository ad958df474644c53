package io.tandem.edge.routing;

import io.tandem.edge.chat.TandemOptions.Sensitivity;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;

/**
 * The policy's configuration, plain values.
 *
 * @param utilizationThreshold   local utilization from which the device counts as loaded (before adaptation)
 * @param maxUtilizationThreshold the highest the adaptive controller may raise it
 * @param allowedRegions         per data class, the cloud regions its requests may go to
 * @param escalate               whether AUTO runs local-first with escalation when the device has room
 * @param escalation             what "confidence dropped" means
 * @param cost                   cloud prices
 * @param latencyWeight          currency units one millisecond per token is worth, to weigh latency against cost
 * @param rttMs                  the round trip to the cloud per step, as configured or measured
 * @param splitBytesPerToken     bytes one split step sends up (the activation codec's size for one position)
 * @param cloudBytesPerToken     bytes one cloud step sends up (a token id frame)
 */
public record PolicySettings(double utilizationThreshold, double maxUtilizationThreshold,
                             Map<Sensitivity, Set<String>> allowedRegions, boolean escalate, Escalation escalation,
                             CostModel cost, double latencyWeight, double rttMs, long splitBytesPerToken,
                             long cloudBytesPerToken) {

    public PolicySettings {
        if (!(utilizationThreshold > 0 && utilizationThreshold <= maxUtilizationThreshold && maxUtilizationThreshold <= 1)) {
            throw new IllegalArgumentException("need 0 < utilization threshold <= max utilization threshold <= 1, were "
                    + utilizationThreshold + " and " + maxUtilizationThreshold);
        }
        EnumMap<Sensitivity, Set<String>> regions = new EnumMap<>(Sensitivity.class);
        for (Sensitivity s : Sensitivity.values()) {
            regions.put(s, Set.copyOf(allowedRegions.getOrDefault(s, Set.of())));
        }
        allowedRegions = Map.copyOf(regions);
        if (!(latencyWeight >= 0) || !(rttMs >= 0) || splitBytesPerToken < 0 || cloudBytesPerToken < 0) {
            throw new IllegalArgumentException("latency weight, round trip and bytes per token must be >= 0");
        }
    }

    /**
     * When a local answer hands over to the cloud: the mean token logprob over the last
     * {@code window} tokens falls below {@code minMeanLogprob}, or (when set) one token's margin
     * falls below {@code minMargin} or its distribution's entropy rises above {@code maxEntropy}.
     * NaN turns a test off. {@code slack} is how far the adaptive controller may lower the bar.
     */
    public record Escalation(int window, double minMeanLogprob, double minMargin, double maxEntropy, double slack) {
        public Escalation {
            if (window < 1) {
                throw new IllegalArgumentException("escalation window must be >= 1, was " + window);
            }
            if (!(slack >= 0)) {
                throw new IllegalArgumentException("escalation slack must be >= 0, was " + slack);
            }
        }
    }

    public boolean regionAllowed(Sensitivity sensitivity, String region) {
        return allowedRegions.get(sensitivity).contains(region);
    }
}
