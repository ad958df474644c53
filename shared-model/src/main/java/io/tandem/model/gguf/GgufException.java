package io.tandem.model.gguf;

import io.tandem.model.ModelFileException;

/**
 * A GGUF file that cannot be used, or a metadata key or tensor that is not what the caller needs. The
 * message names the file, the key or tensor at fault and, for damage in the file, the byte offset, so a
 * broken download or a wrong model says exactly where it went wrong.
 */
public final class GgufException extends ModelFileException {

    /** What went wrong; a closed set so callers and tests can tell the cases apart without parsing messages. */
    public enum Problem {
        /** The file does not start with "GGUF". */
        BAD_MAGIC,
        /** A GGUF version this reader does not read (1, a big-endian file, or a future version). */
        UNSUPPORTED_VERSION,
        /** The file ends inside the header, a metadata value or a tensor's data. */
        TRUNCATED,
        /** A value in the file cannot be right: unknown value type, bad alignment, duplicate key, odd shape. */
        MALFORMED,
        /** A tensor's ggml type id is not one this reader knows. */
        UNKNOWN_TENSOR_TYPE,
        /** A required metadata key or tensor is absent. */
        MISSING,
        /** A metadata key holds a different type than the caller asked for, or a value out of range. */
        WRONG_TYPE,
        /** The tensor type is known but this code cannot convert it (e.g. dequantizing IQ2_XXS). */
        UNSUPPORTED
    }

    public GgufException(Problem problem, String source, String detail) {
        super(problem, source, detail);
    }

    @Override
    public Problem problem() {
        return (Problem) super.problem();
    }
}
