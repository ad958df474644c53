package io.tandem.edge.audit;

import io.tandem.edge.budget.BudgetLimiter;
import io.tandem.edge.routing.CloudState;
import io.tandem.edge.routing.Decision;
import io.tandem.edge.routing.DeviceState;
import io.tandem.edge.routing.RequestFacts;
import io.tandem.edge.routing.RouteOutcome;
import io.tandem.edge.routing.RoutingService;
import java.time.Instant;

/** Builds the audit record of one finished request from its decision and what happened after. */
public final class RoutingAudit {

    private RoutingAudit() {}

    public static AuditRecord record(String requestId, String device, Instant arrived, RoutingService.Routed routed, RouteOutcome outcome,
                                     String status, int completionTokens, AuditRecord.Model localModel,
                                     AuditRecord.Model cloudModel, BudgetLimiter budget, Double ttftMs, double totalMs) {
        Decision d = routed.decision();
        RequestFacts r = routed.request();
        DeviceState dev = routed.device();
        CloudState c = routed.cloud();
        AuditRecord.Inputs inputs = new AuditRecord.Inputs(
                new AuditRecord.RequestInputs(r.promptTokens(), r.maxTokens(), r.sensitivity().label(), r.offloadConsent(),
                        r.latencySloMs()),
                new AuditRecord.DeviceInputs(round(dev.utilization()), dev.queued(), dev.slots(), dev.contextLength(),
                        round(dev.msPerToken())),
                new AuditRecord.CloudInputs(c.configured(), c.breaker().name(), c.sessionsFree(), c.region(),
                        c.queueDepth(), round(c.stepMs()), c.loadReported()),
                new AuditRecord.BudgetInputs(finite(routed.budgetRemaining()), round(budget.spentLastHour()),
                        round(budget.spentLastDay()), finite(budget.hourlyCap()), finite(budget.dailyCap())));
        Decision.Thresholds t = d.thresholds();
        Decision.Estimates e = d.estimates();
        return new AuditRecord(AuditRecord.SCHEMA_VERSION, arrived.toString(), requestId, device,
                r.requested().label(),
                d.route().label(), d.rule().name(), d.reason(), d.splitLayer(),
                d.rejected().stream().map(x -> new AuditRecord.Alternative(x.route().label(), x.reason())).toList(),
                inputs,
                new AuditRecord.Thresholds(round(t.utilization()), round(t.escalateMeanLogprob()), round(t.offloadPressure())),
                new AuditRecord.Estimates(round(e.localTtftMs()), round(e.splitMsPerToken()), round(e.cloudMsPerToken()),
                        e.splitCostPerToken(), e.cloudCostPerToken(), e.requestCost()),
                new AuditRecord.Models(localModel, d.offloads() ? cloudModel : null),
                new AuditRecord.Outcome(status, completionTokens, outcome.escalatedAtToken(), outcome.escalationReason(),
                        outcome.fellBackAtToken(), outcome.fallbackReason(), outcome.cloudSteps(), outcome.cost(),
                        outcome.link()),
                new AuditRecord.Timings(round(routed.decisionNanos() / 1e6), ttftMs == null ? null : round(ttftMs),
                        round(totalMs)),
                outcome.warnings());
    }

    /** JSON has no infinity: an unlimited amount is null. */
    private static Double finite(double x) {
        return Double.isFinite(x) ? x : null;
    }

    private static double round(double x) {
        return Double.isFinite(x) ? Math.round(x * 1000) / 1000.0 : 0;
    }
}
