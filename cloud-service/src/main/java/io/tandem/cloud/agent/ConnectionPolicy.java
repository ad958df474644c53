package io.tandem.cloud.agent;

/**
 * Why the cloud closes a connection that broke no frame rule but a limit: each with its WebSocket
 * close code, defined here and nowhere else (frame errors have theirs in {@code WireError}).
 */
public enum ConnectionPolicy {
    /** The agent does not read: its outbound queue is full. */
    OUTBOUND_FULL(4100),
    /** The device already has its maximum of connections open. */
    TOO_MANY_CONNECTIONS(4101),
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
