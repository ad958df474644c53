package io.tandem.model;

/**
 * A model file (checkpoint, tokenizer, GGUF) that cannot be used. The message names the source and what is
 * wrong with it; {@link #problem()}, from a closed set per file kind, lets callers and tests tell the cases
 * apart without parsing messages. (Java forbids generic exceptions, so each kind narrows {@code problem()}.)
 */
public abstract class ModelFileException extends RuntimeException {

    private final Enum<?> problem;
    private final String source;

    protected ModelFileException(Enum<?> problem, String source, String detail) {
        super(source + ": " + detail);
        this.problem = problem;
        this.source = source;
    }

    public Enum<?> problem() {
        return problem;
    }

    /** The file (or other source) the error is about, as the message names it. */
    public String source() {
        return source;
    }
}
