package io.tandem.edge.config;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * How many local generations run at once ({@code maxActive}, 0 for the number of cores), how many
 * may wait for a slot ({@code maxQueued}), and the Retry-After a client is told when both are full.
 */
@ConfigurationProperties("tandem.concurrency")
public record ConcurrencyProperties(int maxActive, int maxQueued, Duration retryAfter) {

    public ConcurrencyProperties {
        if (maxActive < 0 || maxQueued < 0) {
            throw new IllegalArgumentException("tandem.concurrency.max-active and max-queued must not be negative");
        }
        retryAfter = retryAfter == null ? Duration.ofSeconds(1) : retryAfter;
    }

    public int effectiveMaxActive() {
        return maxActive == 0 ? Runtime.getRuntime().availableProcessors() : maxActive;
    }
}
