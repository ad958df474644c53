package io.tandem.model.sampling;

/**
 * Restricts which tokens may come next (constrained decoding): one instance per sequence, told of
 * every token chosen. {@link #allow} writes -infinity over every token that may not come next.
 */
public interface TokenMask {

    /** Sets the logits of tokens that may not come next to negative infinity; {@code generated} tokens so far. */
    void allow(float[] logits, int generated);

    /** The token chosen at this step. */
    void accept(int token);

    /** Makes one mask per sequence. */
    @FunctionalInterface
    interface Factory {
        TokenMask newMask(int maxTokens);

        /** The fewest tokens an output that satisfies the constraint can take (0: unknown). */
        default int minimumTokens() {
            return 0;
        }
    }
}
