package io.tandem.cloud.config;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Fair shares of the cloud's sessions. Each device (the JWT subject: every edge authenticates as
 * itself) may hold {@code perAgent} sessions and run {@code stepsPerSecond} steps a second; the
 * cloud holds {@code total}, of which the last {@code reserved} go only to a device's first
 * session, so that a few busy devices never lock newcomers out. A session ends after
 * {@code idleTimeout} without a frame, and after {@code maxLifetime} whatever it does, so that
 * trickling steps cannot hold a slot for ever.
 */
@ConfigurationProperties("tandem.cloud.sessions")
public record SessionProperties(int perAgent, int total, Integer reserved, Duration idleTimeout, Duration maxLifetime,
                                int stepsPerSecond) {
    public SessionProperties {
        perAgent = perAgent == 0 ? 16 : perAgent;
        total = total == 0 ? 64 : total;
        reserved = reserved == null ? total / 8 : reserved;
        idleTimeout = idleTimeout == null ? Duration.ofSeconds(60) : idleTimeout;
        maxLifetime = maxLifetime == null ? Duration.ofMinutes(10) : maxLifetime;
        stepsPerSecond = stepsPerSecond == 0 ? 2000 : stepsPerSecond;
        if (perAgent < 1 || total < 1 || idleTimeout.isNegative() || idleTimeout.isZero()
                || maxLifetime.isNegative() || maxLifetime.isZero() || stepsPerSecond < 1) {
            throw new IllegalArgumentException("tandem.cloud.sessions: per-agent, total, idle-timeout, max-lifetime"
                    + " and steps-per-second must be positive");
        }
        if (reserved < 0 || reserved >= total) {
            throw new IllegalArgumentException("tandem.cloud.sessions.reserved must be in 0.." + (total - 1)
                    + " (below total " + total + "), was " + reserved);
        }
    }
}
