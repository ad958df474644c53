package io.tandem.cloud.config;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The KServe v2 gRPC endpoint (Triton's GRPCInferenceService) over the layers this cloud runs:
 * on by default; {@code port} 0 picks a free port (logged), Triton's own default is 8001.
 */
@ConfigurationProperties("tandem.cloud.kserve")
public record KServeProperties(Boolean enabled, int port) {
    public KServeProperties {
        enabled = enabled == null || enabled;
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("tandem.cloud.kserve.port must be 0..65535, was " + port);
        }
    }
}
