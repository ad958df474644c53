package io.tandem.edge.config;

import io.tandem.edge.routing.CostModel;
import io.tandem.edge.routing.PolicySettings;

import io.tandem.edge.chat.TandemOptions.Sensitivity;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The routing policy ({@code tandem.routing}): thresholds, data rules, escalation, the adaptive
 * controller, and what the policy assumes before it has measured anything.
 *
 * @param cloudRegion          the region the cloud endpoint is in (the edge's own knowledge, not the cloud's claim)
 * @param allowedRegions       per data class (public, internal, personal, restricted), regions it may go to
 * @param escalate             whether AUTO answers local-first with escalation when the device has room
 * @param priceRatio           the price signal relative to the base price, when no file gives it
 * @param priceSignalFile      a file holding the current price ratio (one number), re-read when it changes
 */
@ConfigurationProperties("tandem.routing")
public record RoutingProperties(Double utilizationThreshold, Double maxUtilizationThreshold, String cloudRegion,
                                Map<String, List<String>> allowedRegions, Boolean escalate, EscalationProperties escalation,
                                ControllerProperties controller, Double latencyWeight, Double rttMs,
                                Double initialMsPerToken, Double initialMsPerPromptToken, Double cloudStepMs,
                                Double priceRatio, Path priceSignalFile) {

    public RoutingProperties {
        utilizationThreshold = utilizationThreshold == null ? 0.7 : utilizationThreshold;
        maxUtilizationThreshold = maxUtilizationThreshold == null ? 0.95 : maxUtilizationThreshold;
        cloudRegion = cloudRegion == null ? "local" : cloudRegion;
        allowedRegions = allowedRegions == null
                ? Map.of("public", List.of("local"), "internal", List.of("local"))
                : allowedRegions;
        escalate = escalate == null ? Boolean.TRUE : escalate;
        escalation = escalation == null ? new EscalationProperties(null, null, null, null, null) : escalation;
        controller = controller == null ? new ControllerProperties(null, null, null, null) : controller;
        latencyWeight = latencyWeight == null ? 1e-6 : latencyWeight;
        rttMs = rttMs == null ? 2.0 : rttMs;
        initialMsPerToken = initialMsPerToken == null ? 5.0 : initialMsPerToken;
        initialMsPerPromptToken = initialMsPerPromptToken == null ? 1.0 : initialMsPerPromptToken;
        cloudStepMs = cloudStepMs == null ? 2.0 : cloudStepMs;
        priceRatio = priceRatio == null ? 1.0 : priceRatio;
        for (String key : allowedRegions.keySet()) {
            sensitivity(key);
        }
    }

    /**
     * @param window         tokens the mean logprob is taken over
     * @param minMeanLogprob below this mean the answer escalates
     * @param minMargin      a single token whose top-2 logprob margin is below this escalates (unset: off)
     * @param maxEntropy     a single token whose distribution's entropy is above this escalates (unset: off)
     * @param slack          how far the adaptive controller may lower minMeanLogprob when the cloud is busy
     */
    public record EscalationProperties(Integer window, Double minMeanLogprob, Double minMargin, Double maxEntropy,
                                       Double slack) {
        public EscalationProperties {
            window = window == null ? 8 : window;
            minMeanLogprob = minMeanLogprob == null ? -2.5 : minMeanLogprob;
            slack = slack == null ? 1.0 : slack;
        }
    }

    /**
     * @param queueReference   a cloud queue this deep calls for full pressure
     * @param latencyReference a cloud step this much slower than the baseline calls for full pressure
     * @param priceReference   a price this many times the base calls for full pressure
     * @param timeConstant     how quickly the pressure follows its signals
     */
    public record ControllerProperties(Double queueReference, Duration latencyReference, Double priceReference,
                                       Duration timeConstant) {
        public ControllerProperties {
            queueReference = queueReference == null ? 32.0 : queueReference;
            latencyReference = latencyReference == null ? Duration.ofMillis(50) : latencyReference;
            priceReference = priceReference == null ? 3.0 : priceReference;
            timeConstant = timeConstant == null ? Duration.ofSeconds(10) : timeConstant;
        }
    }

    public Map<Sensitivity, Set<String>> regionsBySensitivity() {
        Map<Sensitivity, Set<String>> out = new java.util.EnumMap<>(Sensitivity.class);
        allowedRegions.forEach((key, regions) -> out.put(sensitivity(key), Set.copyOf(regions)));
        return out;
    }

    private static Sensitivity sensitivity(String key) {
        try {
            return Sensitivity.valueOf(key.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("tandem.routing.allowed-regions." + key
                    + " is not a data class: use public, internal, personal or restricted");
        }
    }

    public PolicySettings settings(CostModel cost, long splitBytesPerToken, long cloudBytesPerToken) {
        return new PolicySettings(utilizationThreshold, maxUtilizationThreshold, regionsBySensitivity(), escalate,
                new PolicySettings.Escalation(escalation.window(), escalation.minMeanLogprob(),
                        escalation.minMargin() == null ? Double.NaN : escalation.minMargin(),
                        escalation.maxEntropy() == null ? Double.NaN : escalation.maxEntropy(), escalation.slack()),
                cost, latencyWeight, rttMs, splitBytesPerToken, cloudBytesPerToken);
    }
}
