package io.tandem.edge.audit;

import java.util.List;

/**
 * One routing decision as the audit log keeps it and the response's {@code tandem.trace} shows
 * it: the inputs summarised, the rule that fired, the alternatives and why not, thresholds,
 * estimates, models, what happened while the answer ran, and timings, on the device (its
 * {@code tandem.device.id}) that answered. Never the prompt or the
 * answer text. docs/audit-record.schema.json is its contract.
 */
public record AuditRecord(
        int schemaVersion,
        String timestamp,
        String requestId,
        String device,
        String requestedRoute,
        String route,
        String rule,
        String reason,
        Integer splitLayer,
        List<Alternative> rejected,
        Inputs inputs,
        Thresholds thresholds,
        Estimates estimates,
        Models models,
        Outcome outcome,
        Timings timings,
        List<String> warnings) {

    public static final int SCHEMA_VERSION = 1;

    public record Alternative(String route, String reason) {
    }

    public record Inputs(RequestInputs request, DeviceInputs device, CloudInputs cloud, BudgetInputs budget) {
    }

    public record RequestInputs(int promptTokens, int maxTokens, String sensitivity, boolean offloadConsent,
                                Integer latencySloMs) {
    }

    public record DeviceInputs(double utilization, int queued, int slots, int contextLength, double msPerToken) {
    }

    public record CloudInputs(boolean configured, String breaker, boolean sessionsFree, String region, int queueDepth,
                              double stepMs, boolean loadReported) {
    }

    /** Amounts are null where there is no cap (JSON has no infinity). */
    public record BudgetInputs(Double remaining, double spentLastHour, double spentLastDay, Double hourlyCap,
                               Double dailyCap) {
    }

    public record Thresholds(double utilization, double escalateMeanLogprob, double offloadPressure) {
    }

    public record Estimates(double localTtftMs, double splitMsPerToken, double cloudMsPerToken,
                            double splitCostPerToken, double cloudCostPerToken, double requestCost) {
    }

    public record Models(Model local, Model cloud) {
    }

    public record Model(String name, String hash) {
    }

    /**
     * @param status ok, cancelled or error
     */
    public record Outcome(String status, int completionTokens, Integer escalatedAtToken, String escalationReason,
                          Integer fellBackAtToken, String fallbackReason, int cloudSteps, double cost,
                          io.tandem.edge.routing.RouteOutcome.Link link) {
    }

    public record Timings(double decisionMs, Double ttftMs, double totalMs) {
    }
}
