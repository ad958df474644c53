package io.tandem.model.tokenizer;

/**
 * The token types of {@code tokenizer.ggml.token_type} (SentencePiece's piece types, as llama.cpp's
 * converters write them).
 */
public enum TokenType {
    UNDEFINED,
    NORMAL,
    /** The unknown token, e.g. {@code <unk>}. */
    UNKNOWN,
    /** Markup the model reads but users never type: BOS, EOS, chat turn markers. */
    CONTROL,
    /** Added tokens that always match as a whole in text, e.g. tool-call markers. */
    USER_DEFINED,
    UNUSED,
    /** One raw byte, written {@code <0xXX>}, for byte fallback. */
    BYTE;

    private static final TokenType[] BY_ID = values();

    /** The type stored as {@code id}; ids outside the known range read as UNDEFINED, as llama.cpp does. */
    public static TokenType fromId(long id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[(int) id] : UNDEFINED;
    }

    /** CONTROL, USER_DEFINED and UNKNOWN tokens are cut out of text before the tokenizer model sees it. */
    boolean isSpecial() {
        return this == CONTROL || this == USER_DEFINED || this == UNKNOWN;
    }
}
