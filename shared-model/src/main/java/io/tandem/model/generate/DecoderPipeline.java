package io.tandem.model.generate;

import java.nio.FloatBuffer;

/**
 * The model as the generation loop sees it: feed tokens at the next positions, get the logits of
 * the last one. Implementations run the whole model locally, or split it across partitions (in
 * process or over the network). One pipeline holds one sequence's state.
 */
public interface DecoderPipeline extends AutoCloseable {

    /**
     * Processes {@code tokens} at positions {@code [length(), length() + tokens.length)}.
     *
     * @return logits of the last position, valid until the next call
     */
    FloatBuffer forward(long[] tokens);

    /** Tokens processed so far. */
    int length();

    /** Forgets the positions from {@code length} on (a rejected draft's); not every pipeline can. */
    default void truncate(int length) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot roll back");
    }

    @Override
    void close();
}
