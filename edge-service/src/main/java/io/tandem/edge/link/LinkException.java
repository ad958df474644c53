package io.tandem.edge.link;

/** The cloud could not take or continue a session: down, refused, timed out, or the link dropped. */
public final class LinkException extends RuntimeException {
    public LinkException(String message) {
        super(message);
    }

    public LinkException(String message, Throwable cause) {
        super(message, cause);
    }
}
