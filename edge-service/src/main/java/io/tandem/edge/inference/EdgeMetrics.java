package io.tandem.edge.inference;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;

/** The edge's own meters; the Prometheus names are these with dots as underscores. */
public final class EdgeMetrics {

    private final MeterRegistry registry;

    public EdgeMetrics(MeterRegistry registry, LocalInference inference) {
        this.registry = registry;
        Gauge.builder("tandem.local.queue.depth", inference, LocalInference::queued)
                .description("Local generations waiting for a slot").register(registry);
        Gauge.builder("tandem.local.sessions.active", inference, LocalInference::active)
                .description("Local generations running now").register(registry);
        Gauge.builder("tandem.local.utilization", inference, LocalInference::utilization)
                .description("Running local generations as a share of the slots").register(registry);
    }

    /** One request's outcome: ok, cancelled, rejected, invalid or error. */
    public void request(String route, String outcome) {
        Counter.builder("tandem.requests").description("Completion requests by route and outcome")
                .tag("route", route).tag("outcome", outcome).register(registry).increment();
    }

    public void tokenGenerated(String route) {
        Counter.builder("tandem.tokens.generated").description("Tokens generated").tag("route", route)
                .register(registry).increment();
    }

    public void timeToFirstToken(String route, Duration d) {
        Timer.builder("tandem.ttft").description("Time from request to the first generated token")
                .tag("route", route).publishPercentileHistogram().register(registry).record(d);
    }

    public void interTokenLatency(String route, Duration d) {
        Timer.builder("tandem.inter.token.latency").description("Time between consecutive generated tokens")
                .tag("route", route).publishPercentileHistogram().register(registry).record(d);
    }

    /** A finished request's routing: the rule that decided it, and whether it escalated or fell back. */
    public void routed(io.tandem.edge.routing.Decision decision, io.tandem.edge.routing.RouteOutcome outcome) {
        String route = decision.route().label();
        Counter.builder("tandem.routing.decisions").description("Routing decisions by route and the rule that fired")
                .tag("route", route).tag("rule", decision.rule().name().toLowerCase(java.util.Locale.ROOT))
                .register(registry).increment();
        if (outcome.escalatedAtToken() != null) {
            Counter.builder("tandem.routing.escalations").description("Answers that moved to the cloud part-way")
                    .register(registry).increment();
        }
        if (outcome.fellBackAtToken() != null) {
            Counter.builder("tandem.routing.fallbacks").description("Cloud routes the device had to finish")
                    .tag("route", route).register(registry).increment();
        }
    }

    public void tokensPerSecond(String route, double rate) {
        DistributionSummary.builder("tandem.tokens.per.second").description("Decode speed of each completed request")
                .tag("route", route).register(registry).record(rate);
    }
}
