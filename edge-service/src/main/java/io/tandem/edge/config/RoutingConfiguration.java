package io.tandem.edge.config;

import io.github.resilience4j.micrometer.tagged.TaggedBulkheadMetrics;
import io.github.resilience4j.micrometer.tagged.TaggedCircuitBreakerMetrics;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.tandem.edge.audit.AuditLog;
import io.tandem.edge.budget.BudgetLimiter;
import io.tandem.edge.link.CloudRoutes;
import io.tandem.edge.routing.CloudState;
import io.tandem.edge.routing.LocalSpeed;
import io.tandem.edge.routing.OffloadController;
import io.tandem.edge.routing.RoutingPolicy;
import io.tandem.edge.routing.RoutingService;
import io.tandem.model.wire.Frame;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;
import java.util.function.DoubleSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The routing policy, budget, audit trail and their health and meters, wired from
 * {@code tandem.routing}, {@code tandem.budget} and {@code tandem.audit}. The logic is plain Java
 * in io.tandem.edge.routing and io.tandem.edge.budget; this only connects it.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties({RoutingProperties.class, BudgetProperties.class, AuditProperties.class,
        DeviceProperties.class})
public class RoutingConfiguration {

    private static final Logger log = LoggerFactory.getLogger(RoutingConfiguration.class);

    /** Local only: the breaker is open or the budget is spent. Served with HTTP 200; liveness is not affected. */
    public static final Status DEGRADED = new Status("DEGRADED", "local only");

    @Bean
    BudgetLimiter budgetLimiter(BudgetProperties budget) {
        return new BudgetLimiter(Clock.systemUTC(), budget.hourlyCap(), budget.dailyCap());
    }

    @Bean
    OffloadController offloadController(RoutingProperties routing) {
        RoutingProperties.ControllerProperties c = routing.controller();
        return new OffloadController(Clock.systemUTC(), c.queueReference(), routing.cloudStepMs(),
                c.latencyReference().toNanos() / 1e6, c.priceReference(), c.timeConstant().toMillis() / 1000.0);
    }

    @Bean
    LocalSpeed localSpeed(RoutingProperties routing) {
        return new LocalSpeed(routing.initialMsPerToken(), routing.initialMsPerPromptToken());
    }

    @Bean(destroyMethod = "close")
    AuditLog auditLog(AuditProperties audit, DeviceProperties device) {
        if (audit.path() != null) {
            log.info("audit trail: {}", audit.path().toAbsolutePath());
        }
        return new AuditLog(audit.path(), device.id());
    }

    @Bean
    RoutingService routingService(RoutingProperties routing, BudgetProperties budget, BudgetLimiter limiter,
                                  OffloadController controller, ObjectProvider<CloudRoutes> cloudRoutes) {
        CloudRoutes cloud = cloudRoutes.getIfAvailable();
        RoutingPolicy policy = new RoutingPolicy(routing.settings(budget.costModel(),
                cloud == null ? 0 : cloud.splitBytesPerToken(), CloudRoutes.cloudBytesPerToken()));
        return new RoutingService(policy, limiter, controller, () -> cloudState(cloud, routing),
                priceSignal(routing), Clock.systemUTC());
    }

    private static CloudState cloudState(CloudRoutes cloud, RoutingProperties routing) {
        if (cloud == null) {
            return CloudState.none();
        }
        Optional<Frame.Load> load = cloud.link().load();
        double stepMs = load.filter(l -> l.stepMillis() > 0).map(l -> (double) l.stepMillis()).orElse(routing.cloudStepMs());
        return new CloudState(true, cloud.guard().breakerState(), cloud.guard().sessionsFree(), routing.cloudRegion(),
                load.map(Frame.Load::queueDepth).orElse(0), stepMs, load.isPresent(), cloud.defaultSplitLayer());
    }

    /** The price ratio: from the signal file when one is configured (re-read when it changes), else the property. */
    private static DoubleSupplier priceSignal(RoutingProperties routing) {
        Path file = routing.priceSignalFile();
        if (file == null) {
            return routing::priceRatio;
        }
        return new DoubleSupplier() {
            private long modified = Long.MIN_VALUE;
            private double value = routing.priceRatio();

            @Override
            public synchronized double getAsDouble() {
                try {
                    long now = Files.getLastModifiedTime(file).toMillis();
                    if (now != modified) {
                        modified = now;
                        value = Double.parseDouble(Files.readString(file).trim());
                    }
                } catch (IOException | NumberFormatException e) {
                    log.warn("price signal {} unreadable ({}); keeping {}", file, e.getMessage(), value);
                }
                return value;
            }
        };
    }

    /**
     * Degraded (local only) while the cloud cannot be used: the breaker is open, or the budget is
     * spent or has just kept a request off the cloud.
     */
    @Bean
    HealthIndicator routingHealth(RoutingService routing) {
        return () -> {
            CloudState cloud = routing.cloudState();
            BudgetLimiter budget = routing.budget();
            double remaining = budget.remaining();
            boolean breakerOpen = cloud.configured() && cloud.breaker() == CloudState.Breaker.OPEN;
            boolean spent = cloud.configured() && (remaining <= 0 || routing.budgetBlockedRecently());
            Health.Builder health = breakerOpen || spent ? Health.status(DEGRADED) : Health.up();
            return health.withDetail("mode", !cloud.configured() ? "local only (no cloud link configured)"
                            : breakerOpen ? "local only: the circuit breaker on the cloud link is open"
                            : spent ? "local only: the cloud budget cannot pay for more requests" : "hybrid")
                    .withDetail("breaker", cloud.breaker().name())
                    .withDetail("budgetRemaining", Double.isFinite(remaining) ? remaining : "unlimited")
                    .withDetail("spentLastHour", budget.spentLastHour())
                    .withDetail("spentLastDay", budget.spentLastDay())
                    .withDetail("offloadPressure", routing.controller().pressure())
                    .build();
        };
    }

    @Bean
    RoutingMeters routingMeters(MeterRegistry registry, RoutingService routing, ObjectProvider<CloudRoutes> cloud) {
        BudgetLimiter budget = routing.budget();
        FunctionCounter.builder("tandem.budget.spent", budget, BudgetLimiter::spentTotal)
                .description("Cloud spend charged so far (cost model units)").register(registry);
        Gauge.builder("tandem.budget.remaining", budget, BudgetLimiter::remaining)
                .description("What the spend caps leave now, net of reservations").register(registry);
        Gauge.builder("tandem.budget.spent.window", budget, BudgetLimiter::spentLastHour).tag("window", "hour")
                .description("Spend in the rolling window").register(registry);
        Gauge.builder("tandem.budget.spent.window", budget, BudgetLimiter::spentLastDay).tag("window", "day")
                .description("Spend in the rolling window").register(registry);
        Gauge.builder("tandem.budget.reserved", budget, BudgetLimiter::outstanding)
                .description("Budget held by requests in flight").register(registry);
        Gauge.builder("tandem.routing.offload.pressure", routing.controller(), OffloadController::pressure)
                .description("Adaptive offload pressure, 0 (normal) to 1 (most reluctant)").register(registry);
        CloudRoutes routes = cloud.getIfAvailable();
        if (routes != null) {
            TaggedCircuitBreakerMetrics.ofCircuitBreakerRegistry(routes.guard().breakers()).bindTo(registry);
            TaggedBulkheadMetrics.ofBulkheadRegistry(routes.guard().bulkheads()).bindTo(registry);
        }
        return new RoutingMeters();
    }

    /** Marker bean: the meters above are registered. */
    public static final class RoutingMeters {
    }
}
