package io.tandem.cloud.session;

import io.github.resilience4j.ratelimiter.RateLimiter;
import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Steps a second per device (Resilience4j rate limiters, one per device, refreshed every second):
 * a step beyond its device's share is refused at once rather than queued, so one device's flood
 * never lengthens the queue everyone else's steps wait in.
 */
public final class DeviceStepRates {

    private final int perSecond;
    private final RateLimiterConfig config;
    private final ConcurrentHashMap<String, RateLimiter> limiters = new ConcurrentHashMap<>();

    public DeviceStepRates(int perSecond) {
        if (perSecond < 1) {
            throw new IllegalArgumentException("steps per second must be positive, was " + perSecond);
        }
        this.perSecond = perSecond;
        this.config = RateLimiterConfig.custom().limitForPeriod(perSecond).limitRefreshPeriod(Duration.ofSeconds(1))
                .timeoutDuration(Duration.ZERO).build();
    }

    /** Takes one step of {@code device}'s share, or returns false when this second's share is spent. */
    public boolean tryStep(String device) {
        return limiters.computeIfAbsent(device, d -> RateLimiter.of(d, config)).acquirePermission();
    }

    public int perSecond() {
        return perSecond;
    }
}
