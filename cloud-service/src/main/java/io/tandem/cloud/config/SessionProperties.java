package io.tandem.cloud.config;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/** Session limits: open sessions per agent and in total, and how long an idle session keeps its memory. */
@ConfigurationProperties("tandem.cloud.sessions")
public record SessionProperties(int perAgent, int total, Duration idleTimeout) {
    public SessionProperties {
        perAgent = perAgent == 0 ? 16 : perAgent;
        total = total == 0 ? 64 : total;
        idleTimeout = idleTimeout == null ? Duration.ofSeconds(60) : idleTimeout;
        if (perAgent < 1 || total < 1 || idleTimeout.isNegative() || idleTimeout.isZero()) {
            throw new IllegalArgumentException("tandem.cloud.sessions: per-agent, total and idle-timeout must be positive");
        }
    }
}
