package io.tandem.edge.link;

/** The cloud could not take or continue a session: down, refused, timed out, or the link dropped. */
public final class LinkException extends RuntimeException {
    /** How long the cloud asked the edge to wait before the next attempt (a refused handshake's Retry-After); null when it did not say. */
    private final transient java.time.Duration retryAfter;

    public LinkException(String message) {
        super(message);
        this.retryAfter = null;
    }

    public LinkException(String message, Throwable cause) {
        this(message, cause, null);
    }

    public LinkException(String message, Throwable cause, java.time.Duration retryAfter) {
        super(message, cause);
        this.retryAfter = retryAfter;
    }

    public java.util.Optional<java.time.Duration> retryAfter() {
        return java.util.Optional.ofNullable(retryAfter);
    }
}
