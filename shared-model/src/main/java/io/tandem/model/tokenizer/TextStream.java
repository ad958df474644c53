package io.tandem.model.tokenizer;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Turns generated token ids into text as they arrive. Raw-byte tokens can split one UTF-8 character
 * across several ids, so bytes that do not yet form a whole character are held back until the next id
 * (or {@link #flush()}) completes them. Everything returned by {@link #feed} and {@link #flush} for a
 * sequence concatenates to what the tokenizer's whole-sequence decode returns for it
 * ({@link Llama2cTokenizer#decode(int, int[])}, {@link GgufTokenizer#decode(int[])}).
 *
 * <p>One stream per generation; not thread-safe. Buffers are allocated once, at creation.
 */
public final class TextStream {

    /** A UTF-8 character is at most four bytes, so at most three wait for the rest of it. */
    private static final int MAX_HELD_BYTES = 3;

    /** The bytes a token adds after {@code previous}; the array is only read. */
    @FunctionalInterface
    interface PieceSource {
        byte[] piece(int previous, int token);
    }

    private final PieceSource pieces;
    private final CharsetDecoder decoder;
    private final ByteBuffer pendingBytes;
    private final CharBuffer decodedChars;
    private int previousToken;

    TextStream(Llama2cTokenizer tokenizer, int previousToken) {
        this(tokenizer::decodedPiece, tokenizer.longestPiece(), previousToken);
    }

    /** @param longestPiece the most bytes one token can add */
    TextStream(PieceSource pieces, int longestPiece, int previousToken) {
        this.pieces = pieces;
        // REPLACE matches new String(bytes, UTF_8), which the whole-sequence decode uses
        this.decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPLACE)
                .onUnmappableCharacter(CodingErrorAction.REPLACE);
        int capacity = longestPiece + MAX_HELD_BYTES + 1;
        this.pendingBytes = ByteBuffer.allocate(capacity);
        // never more chars than bytes: one char per ASCII byte, one U+FFFD per malformed byte at most
        this.decodedChars = CharBuffer.allocate(capacity);
        this.previousToken = previousToken;
    }

    /** Adds one token and returns the text it completes (possibly empty). */
    public String feed(int token) {
        byte[] piece = pieces.piece(previousToken, token);
        previousToken = token;
        pendingBytes.put(piece);
        return drain(false);
    }

    /** Ends the sequence: returns what is still held back (incomplete characters become U+FFFD). */
    public String flush() {
        String rest = drain(true);
        decoder.flush(decodedChars);
        decodedChars.flip();
        String tail = decodedChars.toString();
        decodedChars.clear();
        decoder.reset();
        return rest + tail;
    }

    /** The token the next {@link #feed} will be decoded after. */
    public int previousToken() {
        return previousToken;
    }

    private String drain(boolean endOfInput) {
        pendingBytes.flip();
        CoderResult result = decoder.decode(pendingBytes, decodedChars, endOfInput);
        if (result.isOverflow() || result.isError()) {
            // cannot happen with the sizes above and REPLACE; fail loudly rather than lose text
            throw new IllegalStateException("UTF-8 decoder stopped with " + result);
        }
        pendingBytes.compact();
        decodedChars.flip();
        String text = decodedChars.toString();
        decodedChars.clear();
        return text;
    }
}
