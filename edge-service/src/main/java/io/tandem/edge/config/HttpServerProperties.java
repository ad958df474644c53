package io.tandem.edge.config;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * How long the edge's HTTP server waits for clients and how many it serves at once: a request's
 * headers must be complete within {@code headerTimeout} of their first byte, its body may pause at most {@code readTimeout} between reads and take at
 * most {@code requestTimeout} in all, a connection between requests is closed after
 * {@code idleTimeout}, and connections beyond {@code maxConnections} are closed at once. Streamed
 * answers are writes, not reads: none of these cut a long answer short.
 */
@ConfigurationProperties("tandem.http")
public record HttpServerProperties(Duration headerTimeout, Duration readTimeout, Duration requestTimeout,
                                   Duration idleTimeout, int maxConnections) {
    public HttpServerProperties {
        headerTimeout = headerTimeout == null ? Duration.ofSeconds(10) : headerTimeout;
        readTimeout = readTimeout == null ? Duration.ofSeconds(30) : readTimeout;
        requestTimeout = requestTimeout == null ? Duration.ofSeconds(60) : requestTimeout;
        idleTimeout = idleTimeout == null ? Duration.ofSeconds(60) : idleTimeout;
        maxConnections = maxConnections == 0 ? 512 : maxConnections;
        for (Duration d : new Duration[] {headerTimeout, readTimeout, requestTimeout, idleTimeout}) {
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("tandem.http: header-timeout, read-timeout, request-timeout and"
                        + " idle-timeout must be positive");
            }
        }
        if (maxConnections < 1) {
            throw new IllegalArgumentException("tandem.http.max-connections must be positive, was " + maxConnections);
        }
    }
}
