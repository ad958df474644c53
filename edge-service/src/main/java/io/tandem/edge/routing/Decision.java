package io.tandem.edge.routing;

import io.tandem.edge.chat.TandemOptions.Route;
import java.util.List;

/**
 * A routing decision and why: the rule that fired, what else was considered and why not, the
 * thresholds in force and the estimates compared. It holds no request text, so it can be audited.
 *
 * @param route       LOCAL, SPLIT, CLOUD or ESCALATE (never AUTO)
 * @param splitLayer  the first cloud layer for SPLIT, else null
 * @param warnings    what the caller should know (a quality warning when the cloud was wanted but not used)
 */
public record Decision(Route route, Rule rule, String reason, Integer splitLayer, List<Rejected> rejected,
                       Thresholds thresholds, Estimates estimates, List<String> warnings) {

    public Decision {
        if (route == Route.AUTO) {
            throw new IllegalArgumentException("a decision names a concrete route");
        }
        if ((route == Route.SPLIT) != (splitLayer != null)) {
            throw new IllegalArgumentException("a split layer goes with SPLIT and only SPLIT");
        }
        rejected = List.copyOf(rejected);
        warnings = List.copyOf(warnings);
    }

    /** Which rule of the decision order fired. */
    public enum Rule {
        /** the caller asked for this route and nothing forbade it */
        REQUESTED,
        /** the request does not fit the local model's context */
        LOCAL_INELIGIBLE,
        /** the device has room and meets the latency objective */
        LOCAL_CAPACITY,
        /** the device has room: local first, the cloud takes over if confidence drops */
        LOCAL_FIRST_ESCALATE,
        /** the data may not leave the device (sensitivity, region or consent) */
        DATA_RESIDENCY,
        /** the circuit breaker is open, the link is not configured, or the bulkhead is full */
        CLOUD_UNAVAILABLE,
        /** the spend caps leave no room for this request */
        BUDGET,
        /** the device is loaded or too slow; the cheaper of SPLIT and CLOUD by cost and latency */
        OFFLOAD_COST_LATENCY
    }

    public record Rejected(Route route, String reason) {
    }

    /** The thresholds in force, after adaptation. */
    public record Thresholds(double utilization, double escalateMeanLogprob, double offloadPressure) {
    }

    /**
     * What the policy estimated: local time to first token, per-token latency and cost of each cloud
     * route, and the cost reserved for this request (0 when it stays local).
     */
    public record Estimates(double localTtftMs, double splitMsPerToken, double cloudMsPerToken,
                            double splitCostPerToken, double cloudCostPerToken, double requestCost) {
    }

    public boolean offloads() {
        return route != Route.LOCAL;
    }
}
