package io.tandem.model.generate;

/** Why generation ended. */
public enum FinishReason {
    /** The model produced an end-of-sequence token. */
    END_OF_SEQUENCE,
    /** The text reached one of the stop strings. */
    STOP_STRING,
    /** The requested number of tokens was generated. */
    MAX_TOKENS,
    /** The model's context is full. */
    CONTEXT_FULL,
    /** The caller cancelled. */
    CANCELLED
}
