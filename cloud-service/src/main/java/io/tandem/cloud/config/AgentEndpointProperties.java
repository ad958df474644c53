package io.tandem.cloud.config;

import io.tandem.model.wire.WireLimits;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The agent WebSocket: its path and the largest frame it takes. WebFlux caps WebSocket messages
 * at 64 KiB unless told otherwise, far below one prefill's activations, so the cap is explicit.
 */
@ConfigurationProperties("tandem.cloud.agent")
public record AgentEndpointProperties(String path, int maxFrameBytes, int maxPositions, int maxWidth) {
    public AgentEndpointProperties {
        path = path == null ? "/v1/agent" : path;
        maxFrameBytes = maxFrameBytes == 0 ? WireLimits.DEFAULT.maxFrameBytes() : maxFrameBytes;
        maxPositions = maxPositions == 0 ? WireLimits.DEFAULT.maxPositions() : maxPositions;
        maxWidth = maxWidth == 0 ? WireLimits.DEFAULT.maxWidth() : maxWidth;
    }

    public WireLimits wireLimits() {
        return new WireLimits(maxFrameBytes, maxPositions, maxWidth, WireLimits.DEFAULT.maxStringBytes());
    }
}
