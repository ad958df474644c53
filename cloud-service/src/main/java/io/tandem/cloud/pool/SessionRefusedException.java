package io.tandem.cloud.pool;

import io.tandem.model.wire.SessionError;

/** A session the cloud will not open or continue; becomes an Error frame with {@link #error()}'s code. */
public final class SessionRefusedException extends RuntimeException {

    private final SessionError error;

    public SessionRefusedException(SessionError error, String message) {
        super(message);
        this.error = error;
    }

    public SessionError error() {
        return error;
    }
}
