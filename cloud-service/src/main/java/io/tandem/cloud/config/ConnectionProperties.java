package io.tandem.cloud.config;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.unit.DataSize;

/**
 * What one agent connection may hold of the cloud: connections per device, how long a connection
 * may stay without a frame from its agent while it has no session, the frames (and bytes) queued
 * for an agent that does not read them, and unfinished fragmented messages: each must be complete
 * within {@code fragmentTimeout}, and all of them together hold at most {@code fragmentMemory}.
 * {@code closeGrace} is how long a closing connection may take to deliver its close frame before
 * the socket is dropped (an agent that does not read never takes it).
 */
@ConfigurationProperties("tandem.cloud.connections")
public record ConnectionProperties(int perDevice, Duration idleTimeout, int outboundMaxFrames, DataSize outboundMaxBytes,
                                   Duration fragmentTimeout, DataSize fragmentMemory, Duration closeGrace) {
    public ConnectionProperties {
        perDevice = perDevice == 0 ? 4 : perDevice;
        idleTimeout = idleTimeout == null ? Duration.ofMinutes(10) : idleTimeout;
        outboundMaxFrames = outboundMaxFrames == 0 ? 8192 : outboundMaxFrames;
        outboundMaxBytes = outboundMaxBytes == null ? DataSize.ofMegabytes(4) : outboundMaxBytes;
        fragmentTimeout = fragmentTimeout == null ? Duration.ofSeconds(10) : fragmentTimeout;
        fragmentMemory = fragmentMemory == null ? DataSize.ofMegabytes(256) : fragmentMemory;
        closeGrace = closeGrace == null ? Duration.ofSeconds(2) : closeGrace;
        if (perDevice < 1 || outboundMaxFrames < 1 || outboundMaxBytes.toBytes() < 1 || fragmentMemory.toBytes() < 1
                || !positive(idleTimeout) || !positive(fragmentTimeout) || closeGrace.isNegative()) {
            throw new IllegalArgumentException("tandem.cloud.connections: per-device, idle-timeout, outbound-max-frames,"
                    + " outbound-max-bytes, fragment-timeout and fragment-memory must be positive");
        }
    }

    private static boolean positive(Duration d) {
        return !d.isNegative() && !d.isZero();
    }
}
