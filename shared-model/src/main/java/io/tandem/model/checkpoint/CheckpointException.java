package io.tandem.model.checkpoint;

import io.tandem.model.ModelFileException;

/**
 * A checkpoint file that cannot be loaded. The message names the source and what is wrong with it;
 * {@link #problem()} tells the cases apart for callers and tests.
 */
public final class CheckpointException extends ModelFileException {

    public enum Problem {
        /** The file ends before the data its header describes. */
        TRUNCATED,
        /** Bytes remain after everything the header describes. */
        TRAILING_DATA,
        /** A header value is impossible (non-positive, indivisible, absurdly large). */
        INVALID_HEADER,
        /** The file looks like the versioned format but does not start with the "ak42" magic. */
        BAD_MAGIC,
        /** The magic is right but the version is not one this reader knows. */
        UNSUPPORTED_VERSION,
        /** The Q8_0 group size does not divide a quantized tensor. */
        GROUP_SIZE_MISMATCH
    }

    public CheckpointException(Problem problem, String source, String detail) {
        super(problem, source, detail);
    }

    @Override
    public Problem problem() {
        return (Problem) super.problem();
    }
}
