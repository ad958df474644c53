package io.tandem.model.tokenizer;

import io.tandem.model.ModelFileException;

/**
 * A tokenizer file that cannot be used: cut short, malformed, or built for a different model.
 * The message always names the source so that a misconfigured deployment says which file is wrong.
 */
public final class TokenizerException extends ModelFileException {

    /** What went wrong; a closed set so callers and tests can tell the cases apart without parsing messages. */
    public enum Problem {
        /** The file ends inside the header or inside a token entry. */
        TRUNCATED,
        /** A value in the file cannot be right (negative length, piece longer than declared, no tokens). */
        MALFORMED,
        /** The tokenizer's vocabulary size differs from the model's. */
        VOCABULARY_MISMATCH
    }

    public TokenizerException(Problem problem, String source, String detail) {
        super(problem, source, detail);
    }

    @Override
    public Problem problem() {
        return (Problem) super.problem();
    }
}
