package io.tandem.edge.link;

import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.github.resilience4j.bulkhead.BulkheadRegistry;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.reactor.circuitbreaker.operator.CircuitBreakerOperator;
import io.github.resilience4j.reactor.timelimiter.TimeLimiterOperator;
import io.github.resilience4j.timelimiter.TimeLimiter;
import io.github.resilience4j.timelimiter.TimeLimiterConfig;
import io.tandem.edge.routing.CloudState;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;

/**
 * Resilience4j around every exchange with the cloud: a circuit breaker over failures and slow
 * calls, a time limit for the first token and one between tokens, and a bulkhead on concurrent
 * cloud sessions. Whatever goes wrong comes out as a {@link LinkException}, which the fallback
 * turns into a local answer.
 */
public final class CloudGuard {

    private final CircuitBreakerRegistry breakers;
    private final BulkheadRegistry bulkheads;
    private final CircuitBreaker breaker;
    private final Bulkhead bulkhead;
    private final TimeLimiter firstToken;
    private final TimeLimiter betweenTokens;

    public CloudGuard(CircuitBreakerRegistry breakers, BulkheadRegistry bulkheads, TimeLimiter firstToken,
                      TimeLimiter betweenTokens) {
        this.breakers = breakers;
        this.bulkheads = bulkheads;
        this.breaker = breakers.circuitBreaker("cloud");
        this.bulkhead = bulkheads.bulkhead("cloud");
        this.firstToken = firstToken;
        this.betweenTokens = betweenTokens;
    }

    public static CloudGuard of(ResilienceProperties resilience, LinkProperties link) {
        CircuitBreakerConfig breakerConfig = CircuitBreakerConfig.custom()
                .failureRateThreshold(resilience.failureRateThreshold())
                .slowCallRateThreshold(resilience.slowCallRateThreshold())
                .slowCallDurationThreshold(resilience.slowCallDuration())
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.TIME_BASED)
                .slidingWindowSize((int) resilience.window().toSeconds())
                .minimumNumberOfCalls(resilience.minimumCalls())
                .waitDurationInOpenState(resilience.openDuration())
                .permittedNumberOfCallsInHalfOpenState(resilience.halfOpenCalls())
                // while open the policy sends nothing to the cloud, so no call would move it on
                .automaticTransitionFromOpenToHalfOpenEnabled(true)
                .build();
        return new CloudGuard(CircuitBreakerRegistry.of(breakerConfig),
                BulkheadRegistry.of(BulkheadConfig.custom().maxConcurrentCalls(resilience.maxCloudSessions())
                        .maxWaitDuration(Duration.ZERO).build()),
                TimeLimiter.of("cloud-first-token", TimeLimiterConfig.custom()
                        .timeoutDuration(link.firstTokenTimeout()).build()),
                TimeLimiter.of("cloud-token", TimeLimiterConfig.custom().timeoutDuration(link.tokenTimeout()).build()));
    }

    public CircuitBreakerRegistry breakers() {
        return breakers;
    }

    public BulkheadRegistry bulkheads() {
        return bulkheads;
    }

    public CircuitBreaker breaker() {
        return breaker;
    }

    public Bulkhead bulkhead() {
        return bulkhead;
    }

    public CloudState.Breaker breakerState() {
        return switch (breaker.getState()) {
            case CLOSED, DISABLED, METRICS_ONLY -> CloudState.Breaker.CLOSED;
            case HALF_OPEN -> CloudState.Breaker.HALF_OPEN;
            case OPEN, FORCED_OPEN -> CloudState.Breaker.OPEN;
        };
    }

    public boolean sessionsFree() {
        return bulkhead.getMetrics().getAvailableConcurrentCalls() > 0;
    }

    /** Takes a bulkhead slot for one cloud session; close the permit when the session ends. */
    AutoCloseable enterSession() {
        if (!bulkhead.tryAcquirePermission()) {
            throw new LinkException("this edge already runs " + bulkhead.getBulkheadConfig().getMaxConcurrentCalls()
                    + " cloud sessions (the bulkhead is full)");
        }
        return bulkhead::onComplete;
    }

    /** Runs a blocking exchange (opening a session) under the breaker. */
    <T> T call(Supplier<T> exchange) {
        return block(Mono.fromSupplier(exchange).transformDeferred(CircuitBreakerOperator.of(breaker)), null);
    }

    /** Waits for a reply under the breaker and the first-token or between-token time limit. */
    <T> T await(Mono<T> reply, boolean first) {
        TimeLimiter limiter = first ? firstToken : betweenTokens;
        return block(reply.transformDeferred(TimeLimiterOperator.of(limiter))
                .transformDeferred(CircuitBreakerOperator.of(breaker)), limiter);
    }

    private static <T> T block(Mono<T> guarded, TimeLimiter limiter) {
        try {
            return guarded.block();
        } catch (RuntimeException e) {
            Throwable cause = Exceptions.unwrap(e);
            throw switch (cause) {
                case LinkException link -> link;
                case CallNotPermittedException open -> new LinkException("the circuit breaker on the cloud link is open");
                case TimeoutException timeout -> new LinkException("the cloud sent nothing for "
                        + (limiter == null ? "too long" : limiter.getTimeLimiterConfig().getTimeoutDuration().toMillis()
                        + " ms"));
                default -> new LinkException("the cloud exchange failed: " + cause, cause);
            };
        }
    }
}
