package io.tandem.cloud.config;

import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * A pool of KServe v2 gRPC endpoints (Triton servers, or other cloud-services) that runs the
 * cloud's layers instead of this process: {@code host:port} each. Empty (the default) keeps the
 * layers in this process. Endpoints are probed every {@code healthInterval}; a step that gets no
 * answer within {@code stepTimeout} counts as the endpoint being down.
 */
@ConfigurationProperties("tandem.cloud.triton")
public record TritonPoolProperties(List<String> endpoints, Duration healthInterval, Duration stepTimeout) {
    public TritonPoolProperties {
        endpoints = endpoints == null ? List.of() : List.copyOf(endpoints);
        healthInterval = healthInterval == null ? Duration.ofSeconds(2) : healthInterval;
        stepTimeout = stepTimeout == null ? Duration.ofSeconds(30) : stepTimeout;
        for (String e : endpoints) {
            int colon = e.lastIndexOf(':');
            if (colon <= 0 || !e.substring(colon + 1).matches("\\d{1,5}")) {
                throw new IllegalArgumentException("tandem.cloud.triton.endpoints: '" + e + "' is not host:port");
            }
        }
    }
}
