package io.tandem.model.generate;

/** Turns generated ids into text incrementally; each tokenizer family adapts to this. */
public interface TokenText {

    /** A fresh stream for ids that follow {@code previousToken}. */
    Stream open(int previousToken);

    interface Stream {
        /** Text completed by {@code token}, possibly empty. */
        String feed(int token);

        /** Whatever is still held back at the end. */
        String flush();
    }
}
