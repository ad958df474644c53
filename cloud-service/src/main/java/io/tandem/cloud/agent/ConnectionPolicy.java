package io.tandem.cloud.agent;

/**
 * Why the cloud closes a connection that broke no frame rule but a limit: each with its WebSocket
 * close code, defined here and nowhere else (frame errors have theirs in {@code WireError}). A device
 * over its connection limit is refused before the upgrade instead, with HTTP 429
 * ({@code RawFrameUpgradeStrategy}); 4101, which earlier builds sent for it, stays unused.
 */
public enum ConnectionPolicy {
    /** The agent does not read: its outbound queue is full. */
    OUTBOUND_FULL(4100),
    /** No frame from the agent and no session for the connection idle timeout. */
    IDLE(4102),
    /** A fragmented message was not finished within the fragment timeout. */
    MESSAGE_INCOMPLETE(4103),
    /** The memory for unfinished fragmented messages, shared by all connections, is full (RFC 6455 "try again later"). */
    FRAGMENT_MEMORY_FULL(1013);

    private final int closeCode;

    ConnectionPolicy(int closeCode) {
        this.closeCode = closeCode;
    }

    public int closeCode() {
        return closeCode;
    }
}
