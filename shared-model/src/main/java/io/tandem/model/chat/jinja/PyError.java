package io.tandem.model.chat.jinja;

/**
 * A Python-style runtime error (a type error, an undefined value used) raised while evaluating; the
 * renderer adds the template line and turns it into a {@link JinjaException}.
 */
class PyError extends RuntimeException {

    PyError(String message) {
        super(message, null, false, false);
    }

    /** The template called {@code raise_exception(message)}. */
    static final class Raised extends PyError {
        Raised(String message) {
            super(message);
        }
    }
}
