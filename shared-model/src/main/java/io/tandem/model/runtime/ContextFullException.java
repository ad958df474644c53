package io.tandem.model.runtime;

/** A step would run past the model's context length. */
public final class ContextFullException extends IllegalStateException {
    public ContextFullException(int length, int adding, int context) {
        super("cannot add " + adding + " tokens to " + length + ": the context holds " + context);
    }
}
