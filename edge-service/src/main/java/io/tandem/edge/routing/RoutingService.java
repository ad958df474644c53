package io.tandem.edge.routing;

import io.tandem.edge.budget.BudgetLimiter;
import java.time.Clock;
import java.time.Duration;
import java.util.function.DoubleSupplier;
import java.util.function.Supplier;

/**
 * Routes one request: reads the cloud's state, lets the offload controller adapt, asks the policy,
 * and for a cloud route reserves the estimated cost. If another request took the last of the
 * budget between the decision and the reservation, the policy decides again with none left.
 */
public final class RoutingService {

    private final RoutingPolicy policy;
    private final BudgetLimiter budget;
    private final OffloadController controller;
    private final Supplier<CloudState> cloud;
    private final DoubleSupplier priceRatio;
    private final Clock clock;
    private volatile long budgetBlockedAtMillis = Long.MIN_VALUE;

    /** How long a budget refusal keeps the edge reported as local only. */
    public static final Duration BUDGET_BLOCK_MEMORY = Duration.ofMinutes(1);

    public RoutingService(RoutingPolicy policy, BudgetLimiter budget, OffloadController controller,
                          Supplier<CloudState> cloud, DoubleSupplier priceRatio, Clock clock) {
        this.clock = clock;
        this.policy = policy;
        this.budget = budget;
        this.controller = controller;
        this.cloud = cloud;
        this.priceRatio = priceRatio;
    }

    /** A decision, with what it was based on and the budget it holds (null when it holds none). */
    public record Routed(Decision decision, BudgetLimiter.Reservation reservation, RequestFacts request,
                         DeviceState device, CloudState cloud, double budgetRemaining, long decisionNanos) {
    }

    /** @param splitLayer the request's own split point, or null for the configured one */
    public Routed route(RequestFacts request, DeviceState device, Integer splitLayer) {
        long start = System.nanoTime();
        CloudState now = splitLayer == null ? cloud.get() : cloud.get().withSplitLayer(splitLayer);
        double pressure = now.loadReported()
                ? controller.update(now.queueDepth(), now.stepMs(), priceRatio.getAsDouble())
                : controller.update(0, Double.NaN, priceRatio.getAsDouble());
        double remaining = budget.remaining();
        Decision decision = policy.decide(request, device, now, remaining, pressure);
        BudgetLimiter.Reservation reservation = null;
        if (decision.offloads()) {
            reservation = budget.tryReserve(decision.estimates().requestCost()).orElse(null);
            if (reservation == null) {
                remaining = 0;
                decision = policy.decide(request, device, now, remaining, pressure);
            }
        }
        if (decision.rule() == Decision.Rule.BUDGET) {
            budgetBlockedAtMillis = clock.millis();
        }
        return new Routed(decision, reservation, request, device, now, remaining, System.nanoTime() - start);
    }

    /** Whether the budget kept a request off the cloud within {@link #BUDGET_BLOCK_MEMORY}. */
    public boolean budgetBlockedRecently() {
        long at = budgetBlockedAtMillis;
        return at != Long.MIN_VALUE && clock.millis() - at <= BUDGET_BLOCK_MEMORY.toMillis();
    }

    public RoutingPolicy policy() {
        return policy;
    }

    public BudgetLimiter budget() {
        return budget;
    }

    public OffloadController controller() {
        return controller;
    }

    public CloudState cloudState() {
        return cloud.get();
    }
}
