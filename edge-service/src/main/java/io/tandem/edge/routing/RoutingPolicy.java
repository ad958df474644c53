package io.tandem.edge.routing;

import io.tandem.edge.chat.TandemOptions.Route;
import io.tandem.edge.routing.Decision.Estimates;
import io.tandem.edge.routing.Decision.Rejected;
import io.tandem.edge.routing.Decision.Rule;
import io.tandem.edge.routing.Decision.Thresholds;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Where a request runs. Pure: the same inputs always give the same decision. The order:
 * <ol>
 *   <li>local eligibility: does the request fit the local model's context;</li>
 *   <li>local load: utilization against the (adaptive) threshold, and the local time to first
 *       token against the latency objective; a device with room answers locally (local-first with
 *       escalation, when that is on and the cloud may be used);</li>
 *   <li>data: personal and restricted data stay on the device unless the cloud's region is allowed
 *       for their class, and nothing leaves without the user's consent;</li>
 *   <li>the cheaper of SPLIT and CLOUD by cost and latency;</li>
 *   <li>LOCAL when the cloud is unavailable, over budget or not allowed.</li>
 * </ol>
 * A route the caller asks for explicitly is honoured unless the data rules, the breaker or the
 * budget forbid it; then the answer is local and says why.
 */
public final class RoutingPolicy {

    private final PolicySettings settings;

    public RoutingPolicy(PolicySettings settings) {
        this.settings = settings;
    }

    public PolicySettings settings() {
        return settings;
    }

    /**
     * @param budgetRemaining what the spend caps leave now, in currency units
     * @param pressure        the offload controller's pressure, 0..1
     */
    public Decision decide(RequestFacts request, DeviceState device, CloudState cloud, double budgetRemaining,
                           double pressure) {
        Thresholds thresholds = thresholds(pressure);
        Estimates estimates = estimates(request, device, cloud, Route.LOCAL);
        List<Rejected> rejected = new ArrayList<>();
        Builder out = new Builder(thresholds, rejected);

        if (request.requested() != Route.AUTO) {
            return explicit(request, device, cloud, budgetRemaining, out);
        }

        // 1. local eligibility
        boolean fits = request.promptTokens() + request.maxTokens() <= device.contextLength();
        // 2. local load against the SLO
        double localTtft = estimates.localTtftMs();
        boolean loaded = device.utilization() >= thresholds.utilization();
        boolean missesSlo = request.latencySloMs() != null && localTtft > request.latencySloMs();
        String offloadWhy;
        if (fits && !loaded && !missesSlo) {
            String room = String.format(Locale.ROOT, "the device has room (utilization %.2f < %.2f)",
                    device.utilization(), thresholds.utilization())
                    + (request.latencySloMs() == null ? "" : String.format(Locale.ROOT,
                    " and meets the %d ms objective (about %.0f ms to first token)", request.latencySloMs(), localTtft));
            String blocked = settings.escalate() ? cloudBlocked(request, cloud, budgetRemaining, Route.ESCALATE,
                    device, out) : "escalation is off";
            if (blocked == null) {
                return out.decision(Route.ESCALATE, Rule.LOCAL_FIRST_ESCALATE, room
                        + ": local first, the cloud continues if confidence drops", null,
                        estimates(request, device, cloud, Route.ESCALATE), List.of());
            }
            rejected.add(new Rejected(Route.ESCALATE, blocked));
            rejected.add(new Rejected(Route.SPLIT, "not needed: " + room));
            rejected.add(new Rejected(Route.CLOUD, "not needed: " + room));
            return out.decision(Route.LOCAL, Rule.LOCAL_CAPACITY, room, null, estimates, List.of());
        }
        offloadWhy = !fits ? "the request (" + request.promptTokens() + " + " + request.maxTokens()
                + " tokens) does not fit the local context of " + device.contextLength()
                : loaded ? String.format(Locale.ROOT, "the device is loaded (utilization %.2f >= %.2f)",
                device.utilization(), thresholds.utilization())
                : String.format(Locale.ROOT, "local would miss the %d ms objective (about %.0f ms to first token)",
                request.latencySloMs(), localTtft);
        Rule localRule = fits ? null : Rule.LOCAL_INELIGIBLE;

        // 3. data, 5. availability and budget (checked for both cloud routes at once)
        String blocked = cloudBlocked(request, cloud, budgetRemaining, Route.CLOUD, device, out);
        if (blocked != null) {
            rejected.add(new Rejected(Route.SPLIT, blocked));
            rejected.add(new Rejected(Route.CLOUD, blocked));
            rejected.add(new Rejected(Route.ESCALATE, blocked));
            Rule rule = out.blockingRule;
            List<String> warnings = rule == Rule.DATA_RESIDENCY ? List.of()
                    : List.of(offloadWhy + ", but " + blocked + "; answered on this device");
            return out.decision(Route.LOCAL, rule, offloadWhy + "; " + blocked, null, estimates, warnings);
        }

        // 4. SPLIT or CLOUD by cost and latency
        Estimates split = estimates(request, device, cloud, Route.SPLIT);
        Estimates whole = estimates(request, device, cloud, Route.CLOUD);
        double splitScore = split.splitCostPerToken() + settings.latencyWeight() * split.splitMsPerToken();
        double cloudScore = whole.cloudCostPerToken() + settings.latencyWeight() * whole.cloudMsPerToken();
        boolean splitFits = cloud.splitLayer() >= 1 && cloud.splitLayer() < device.layers();
        boolean chooseSplit = splitFits && splitScore < cloudScore;
        String comparison = String.format(Locale.ROOT,
                "split %.4g/token at %.1f ms/token, cloud %.4g/token at %.1f ms/token", split.splitCostPerToken(),
                split.splitMsPerToken(), whole.cloudCostPerToken(), whole.cloudMsPerToken());
        rejected.add(new Rejected(Route.LOCAL, offloadWhy));
        rejected.add(new Rejected(Route.ESCALATE, "the answer should not start on a device that " + (fits
                ? "is busy" : "cannot hold it")));
        if (chooseSplit) {
            rejected.add(new Rejected(Route.CLOUD, "costs more for the latency: " + comparison));
            return out.decision(Route.SPLIT, localRule != null ? localRule : Rule.OFFLOAD_COST_LATENCY,
                    offloadWhy + "; split is cheaper for its latency (" + comparison + ")", cloud.splitLayer(), split,
                    List.of());
        }
        rejected.add(new Rejected(Route.SPLIT, splitFits ? "costs more for the latency: " + comparison
                : "the model has no split point " + cloud.splitLayer()));
        return out.decision(Route.CLOUD, localRule != null ? localRule : Rule.OFFLOAD_COST_LATENCY,
                offloadWhy + "; cloud is cheaper for its latency (" + comparison + ")", null, whole, List.of());
    }

    private Decision explicit(RequestFacts request, DeviceState device, CloudState cloud, double budgetRemaining,
                              Builder out) {
        Route route = request.requested();
        Estimates local = estimates(request, device, cloud, Route.LOCAL);
        if (route == Route.LOCAL) {
            return out.decision(Route.LOCAL, Rule.REQUESTED, "local requested", null, local, List.of());
        }
        String blocked = cloudBlocked(request, cloud, budgetRemaining, route, device, out);
        if (blocked != null) {
            out.rejected.add(new Rejected(route, blocked));
            return out.decision(Route.LOCAL, out.blockingRule, route.label() + " requested, but " + blocked, null, local,
                    List.of("route " + route.label() + " was requested but " + blocked + "; answered on this device"));
        }
        String reason = switch (route) {
            case SPLIT -> "split requested: layers 0.." + (cloud.splitLayer() - 1) + " on this device, "
                    + cloud.splitLayer() + ".." + (device.layers() - 1) + " in the cloud";
            case CLOUD -> "cloud requested: the cloud decodes, token ids only";
            case ESCALATE -> "escalate requested: local first, the cloud continues if confidence drops";
            case AUTO, LOCAL -> throw new IllegalStateException("handled above");
        };
        return out.decision(route, Rule.REQUESTED, reason, route == Route.SPLIT ? cloud.splitLayer() : null,
                estimates(request, device, cloud, route), List.of());
    }

    /** Why the cloud may not take this request, or null if it may; sets the rule that blocked it. */
    private String cloudBlocked(RequestFacts request, CloudState cloud, double budgetRemaining, Route route,
                                DeviceState device, Builder out) {
        if (!cloud.configured()) {
            out.blockingRule = Rule.CLOUD_UNAVAILABLE;
            return "this edge has no cloud link configured";
        }
        if (!request.offloadConsent()) {
            out.blockingRule = Rule.DATA_RESIDENCY;
            return "the user did not consent to offloading";
        }
        if (!settings.regionAllowed(request.sensitivity(), cloud.region())) {
            out.blockingRule = Rule.DATA_RESIDENCY;
            return request.sensitivity().label() + " data may not go to region '" + cloud.region() + "'"
                    + (settings.allowedRegions().get(request.sensitivity()).isEmpty() ? " (it stays on the device)"
                    : " (allowed: " + String.join(", ", settings.allowedRegions().get(request.sensitivity())
                    .stream().sorted().toList()) + ")");
        }
        if (cloud.breaker() == CloudState.Breaker.OPEN) {
            out.blockingRule = Rule.CLOUD_UNAVAILABLE;
            return "the cloud is unavailable (circuit breaker open)";
        }
        if (!cloud.sessionsFree()) {
            out.blockingRule = Rule.CLOUD_UNAVAILABLE;
            return "the cloud session limit of this edge is reached (bulkhead full)";
        }
        double cost = estimates(request, device, cloud, route == Route.ESCALATE ? Route.CLOUD : route).requestCost();
        if (budgetRemaining <= 0 || cost > budgetRemaining) {
            out.blockingRule = Rule.BUDGET;
            return budgetRemaining <= 0 ? "the cloud budget is spent"
                    : String.format(Locale.ROOT, "the request's estimated cost %.4g exceeds the remaining budget %.4g",
                    cost, budgetRemaining);
        }
        return null;
    }

    /** The thresholds after the controller's pressure: 0 leaves them as configured, 1 moves them the most. */
    public Thresholds thresholds(double pressure) {
        double p = Math.max(0, Math.min(1, pressure));
        double utilization = settings.utilizationThreshold()
                + p * (settings.maxUtilizationThreshold() - settings.utilizationThreshold());
        double escalate = settings.escalation().minMeanLogprob() - p * settings.escalation().slack();
        return new Thresholds(utilization, escalate, p);
    }

    /** Latency and cost per token of each route; the request estimate for {@code route}. */
    Estimates estimates(RequestFacts request, DeviceState device, CloudState cloud, Route route) {
        int layers = device.layers();
        int k = Math.max(1, Math.min(layers - 1, cloud.splitLayer()));
        double queueWait = cloud.queueDepth() * cloud.stepMs(); // steps ahead of ours on the accelerator
        double tailShare = layers > 1 ? (layers - k) / (double) layers : 1;
        double splitMs = k / (double) layers * device.msPerToken() + settings.rttMs() + tailShare * cloud.stepMs() + queueWait;
        double cloudMs = settings.rttMs() + cloud.stepMs() + queueWait;
        CostModel cost = settings.cost();
        double splitCost = cost.stepCost(Math.round(tailShare * cloud.stepMs() * 1000), settings.splitBytesPerToken());
        double cloudCost = cost.stepCost(Math.round(cloud.stepMs() * 1000), settings.cloudBytesPerToken());
        double requestCost = switch (route) {
            case SPLIT -> cost.requestEstimate(request.promptTokens(), request.maxTokens(), tailShare * cloud.stepMs(),
                    settings.splitBytesPerToken());
            case CLOUD, ESCALATE -> cost.requestEstimate(request.promptTokens(), request.maxTokens(), cloud.stepMs(),
                    settings.cloudBytesPerToken());
            case LOCAL, AUTO -> 0;
        };
        return new Estimates(device.localTtftMs(request.promptTokens(), request.maxTokens()), splitMs, cloudMs,
                splitCost, cloudCost, requestCost);
    }

    private static final class Builder {
        final Thresholds thresholds;
        final List<Rejected> rejected;
        Rule blockingRule;

        Builder(Thresholds thresholds, List<Rejected> rejected) {
            this.thresholds = thresholds;
            this.rejected = rejected;
        }

        Decision decision(Route route, Rule rule, String reason, Integer splitLayer, Estimates estimates,
                          List<String> warnings) {
            return new Decision(route, rule, reason, splitLayer, rejected, thresholds, estimates, warnings);
        }
    }
}
