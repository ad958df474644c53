package io.tandem.model.wire;

/**
 * Why one session failed while the connection it shares stays up: the code in an
 * {@link Frame.Error}. A broken frame is not a session error; it closes the whole connection with
 * its {@link WireError#closeCode()}.
 */
public enum SessionError {
    /** The cloud does not serve the model the Open names. */
    UNKNOWN_MODEL(1),
    /** The split point leaves no layer to one side, or the mode is not served. */
    BAD_MODE(2),
    /** Too many sessions for this agent, or in total. */
    SESSION_LIMIT(3),
    /** A frame for a session that was never opened or is already closed, or a second Open. */
    NO_SUCH_SESSION(4),
    /** Input that does not follow: a position gap, a width or vocabulary mismatch, a wrong frame for the mode. */
    BAD_INPUT(5),
    /** The sequence reached the model's context length. */
    CONTEXT_FULL(6),
    /** No frame arrived within the idle timeout; the session's memory was freed. */
    IDLE_TIMEOUT(7),
    /** The step failed inside the cloud. */
    INTERNAL(8),
    /** The cloud is shutting down. */
    SHUTTING_DOWN(9),
    /**
     * The session reached its maximum lifetime (its lease) however busy it was; its state was freed
     * and the agent may open a new one. Builds from before this code read it as INTERNAL.
     */
    LEASE_EXPIRED(10);

    private final int code;

    SessionError(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public Frame.Error frame(String message) {
        return new Frame.Error(code, message);
    }

    /** The kind for a code a peer sent; codes this build does not know read as INTERNAL. */
    public static SessionError of(int code) {
        for (SessionError e : values()) {
            if (e.code == code) {
                return e;
            }
        }
        return INTERNAL;
    }
}
