package io.tandem.cloud.pool;

import io.tandem.model.runtime.StageInput;
import java.nio.FloatBuffer;

/**
 * One session's state in a pool: the KV cache of the layers [firstLayer, endLayer) the cloud
 * runs. Stepped by one thread at a time.
 */
public interface PoolSequence extends AutoCloseable {

    int firstLayer();

    int endLayer();

    /** The graph hash of the range, sent back in Opened so the edge can log what it talks to. */
    String manifestHash();

    /** Hidden width the first layer takes (SPLIT), or 0 when the sequence takes token ids. */
    int inputWidth();

    int vocabSize();

    int contextLength();

    /**
     * The served model's vocabulary as bytes, for output constraints (built once per model).
     *
     * @throws SessionRefusedException when this pool cannot constrain output
     */
    default io.tandem.model.constrain.ConstrainedVocabulary vocabulary() {
        throw new SessionRefusedException(io.tandem.model.wire.SessionError.BAD_INPUT,
                "this pool cannot constrain output: it has no vocabulary");
    }

    /** Positions processed so far. */
    int length();

    /** Runs the next positions; returns the last position's logits, valid until the next call. */
    FloatBuffer forward(StageInput input);

    /**
     * Runs the next positions and returns the logits of every one of them, row-major
     * {@code [positions][vocab]}, valid until the next call: for verifying a draft. Only on
     * sequences opened for verification.
     */
    default FloatBuffer forwardRows(StageInput input) {
        throw new UnsupportedOperationException("this sequence was not opened for verification");
    }

    /** Forgets the positions from {@code length} on (a rejected draft's). Only on sequences opened for verification. */
    default void truncate(int length) {
        throw new UnsupportedOperationException("this sequence was not opened for verification");
    }

    /**
     * The accelerator time the last step cost this sequence, for the Token frame (which the edge
     * bills): its share of the passes it rode in when steps are batched, else {@code wallNanos}, the
     * step's own time.
     */
    default long computeNanos(long wallNanos) {
        return wallNanos;
    }

    @Override
    void close();
}
