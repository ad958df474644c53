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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;

/**
 * Resilience4j around every exchange with the cloud: a circuit breaker over failed and slow
 * sessions (a session's first exchange is one call; a later failure counts too), a time limit for
 * the first token and one between tokens, both as Reactor operators, and a bulkhead on concurrent
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
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(resilience.windowSize())
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

    /**
     * The first exchange of a session (open it, send the prompt, wait for Opened and the first
     * token) as one call of the breaker, under the first-token time limit. The breaker counts
     * sessions, not tokens, so that a long answer's many good steps do not hide a cloud that
     * refuses every new session.
     */
    <T> T firstExchange(Mono<T> exchange) {
        return block(exchange.transformDeferred(TimeLimiterOperator.of(firstToken))
                .transformDeferred(CircuitBreakerOperator.of(breaker)), firstToken);
    }

    /** A later token under the between-token limit; a failure also counts against the breaker. */
    <T> T nextToken(Mono<T> reply) {
        long start = System.nanoTime();
        try {
            return block(reply.transformDeferred(TimeLimiterOperator.of(betweenTokens)), betweenTokens);
        } catch (LinkException e) {
            breaker.onError(System.nanoTime() - start, TimeUnit.NANOSECONDS, e);
            throw e;
        }
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
