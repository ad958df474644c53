package io.tandem.model.tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Objects;
import java.util.stream.IntStream;

/**
 * The llama2.c tokenizer ({@code tokenizer.bin}): a SentencePiece-style vocabulary with merge scores,
 * encoded and decoded exactly as llama2.c's {@code run.c} does, so that token ids produced here match
 * the ids the reference C implementation feeds its model.
 *
 * <p>File layout (little-endian): {@code int32 max_token_length}, then for every token
 * {@code float32 score, int32 length, length bytes}. The file does not store the token count; it is
 * whatever the file holds, and {@link #requireVocabSize(int)} checks it against the model.
 *
 * <p>Instances are immutable and safe to share between threads; {@link TextStream}s are not.
 */
public final class Llama2cTokenizer {

    /** Classpath location of the embedded default tokenizer (the 512-token TinyStories vocabulary). */
    public static final String EMBEDDED_RESOURCE = "/io/tandem/model/embedded/tok512.bin";

    public static final int BOS_ID = 1;
    public static final int EOS_ID = 2;
    /** llama2.c vocabularies put the 256 raw-byte tokens {@code <0x00>..<0xFF>} right after unk, BOS and EOS. */
    private static final int BYTE_FALLBACK_OFFSET = 3;
    /** run.c starts its best-merge search at this score, so pairs scoring no higher never merge. */
    private static final float NO_MERGE_SCORE = -1e10f;

    private final String source;
    private final int maxTokenLength;
    private final byte[][] pieces;
    private final float[] scores;
    /** Ids ordered by their piece's bytes (unsigned, as strcmp), ties by id, for binary-search lookup. */
    private final int[] idsByPiece;
    /** Length of the longest piece actually present: a concatenation longer than this cannot be a token. */
    private final int longestPiece;
    private final int dummyPrefixId;
    /** What decode emits for each token, with raw-byte tokens already turned into their byte. */
    private final byte[][] decoded;
    /** Same after BOS, where SentencePiece drops the piece's leading space. */
    private final byte[][] decodedAfterBos;

    private Llama2cTokenizer(String source, int maxTokenLength, byte[][] pieces, float[] scores) {
        this.source = source;
        this.maxTokenLength = maxTokenLength;
        this.pieces = pieces;
        this.scores = scores;
        this.idsByPiece = IntStream.range(0, pieces.length).boxed()
                .sorted(Comparator.<Integer, byte[]>comparing(id -> pieces[id], Arrays::compareUnsigned)
                        .thenComparing(Comparator.naturalOrder()))
                .mapToInt(Integer::intValue)
                .toArray();
        this.longestPiece = Arrays.stream(pieces).mapToInt(p -> p.length).max().orElse(0);
        byte[] space = {' '};
        int spaceId = lookup(space, 1);
        // run.c would emit id -1 if " " were missing; the byte-fallback token for a space is the sane equivalent
        this.dummyPrefixId = spaceId >= 0 ? spaceId : ' ' + BYTE_FALLBACK_OFFSET;
        this.decoded = new byte[pieces.length][];
        this.decodedAfterBos = new byte[pieces.length][];
        for (int id = 0; id < pieces.length; id++) {
            byte[] piece = pieces[id];
            decoded[id] = rawByteOrSelf(piece);
            // run.c strips the space first and only then looks for a <0xNN> piece
            decodedAfterBos[id] = piece.length > 0 && piece[0] == ' '
                    ? rawByteOrSelf(Arrays.copyOfRange(piece, 1, piece.length))
                    : decoded[id];
        }
    }

    // ---------------------------------------------------------------- loading

    /** The embedded default tokenizer, {@value #EMBEDDED_RESOURCE}. */
    public static Llama2cTokenizer embedded() {
        try (InputStream in = Llama2cTokenizer.class.getResourceAsStream(EMBEDDED_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("classpath resource " + EMBEDDED_RESOURCE + " is missing");
            }
            return load(in, "classpath:" + EMBEDDED_RESOURCE);
        } catch (IOException e) {
            throw new UncheckedIOException("reading classpath:" + EMBEDDED_RESOURCE, e);
        }
    }

    /**
     * Reads a tokenizer file.
     *
     * @throws IOException          when the file cannot be read
     * @throws TokenizerException   when its content is truncated or malformed
     */
    public static Llama2cTokenizer load(Path path) throws IOException {
        return parse(Files.readAllBytes(path), path.toString());
    }

    /**
     * Reads a tokenizer from a stream (to its end; the stream is not closed).
     *
     * @param sourceName how error messages name the source, e.g. a file name or resource path
     */
    public static Llama2cTokenizer load(InputStream in, String sourceName) throws IOException {
        return parse(in.readAllBytes(), sourceName);
    }

    /** Parses tokenizer bytes already in memory. */
    public static Llama2cTokenizer parse(byte[] data, String sourceName) {
        Objects.requireNonNull(sourceName, "sourceName");
        ByteBuffer in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        if (in.remaining() < Integer.BYTES) {
            throw new TokenizerException(TokenizerException.Problem.TRUNCATED, sourceName,
                    "file is " + data.length + " bytes, too short for the 4-byte max_token_length header");
        }
        int maxTokenLength = in.getInt();
        if (maxTokenLength <= 0) {
            throw new TokenizerException(TokenizerException.Problem.MALFORMED, sourceName,
                    "max_token_length at byte 0 is " + maxTokenLength + ", must be positive");
        }
        // a first guess at the count keeps the arrays from growing many times for big vocabularies
        int capacity = Math.max(16, data.length / (8 + Math.min(maxTokenLength, 8)));
        byte[][] pieces = new byte[capacity][];
        float[] scores = new float[capacity];
        int count = 0;
        while (in.hasRemaining()) {
            int entryOffset = in.position();
            if (in.remaining() < 2 * Integer.BYTES) {
                throw new TokenizerException(TokenizerException.Problem.TRUNCATED, sourceName,
                        "token " + count + ": the file ends at byte " + data.length
                                + ", inside the score and length that start at byte " + entryOffset);
            }
            float score = in.getFloat();
            int length = in.getInt();
            if (length < 0) {
                throw new TokenizerException(TokenizerException.Problem.MALFORMED, sourceName,
                        "token " + count + ": negative piece length " + length + " at byte " + (entryOffset + 4));
            }
            if (length > maxTokenLength) {
                // run.c sizes its merge buffer from max_token_length, so a longer piece means a broken file
                throw new TokenizerException(TokenizerException.Problem.MALFORMED, sourceName,
                        "token " + count + ": piece length " + length + " at byte " + (entryOffset + 4)
                                + " exceeds max_token_length " + maxTokenLength);
            }
            if (in.remaining() < length) {
                throw new TokenizerException(TokenizerException.Problem.TRUNCATED, sourceName,
                        "token " + count + ": the file ends at byte " + data.length + ", inside the " + length
                                + "-byte piece that starts at byte " + in.position());
            }
            byte[] piece = new byte[length];
            in.get(piece);
            if (count == pieces.length) {
                pieces = Arrays.copyOf(pieces, count * 2);
                scores = Arrays.copyOf(scores, count * 2);
            }
            pieces[count] = piece;
            scores[count] = score;
            count++;
        }
        if (count == 0) {
            throw new TokenizerException(TokenizerException.Problem.MALFORMED, sourceName, "holds no tokens");
        }
        return new Llama2cTokenizer(sourceName, maxTokenLength,
                Arrays.copyOf(pieces, count), Arrays.copyOf(scores, count));
    }

    // ---------------------------------------------------------------- vocabulary

    public int vocabSize() {
        return pieces.length;
    }

    public int bosId() {
        return BOS_ID;
    }

    public int eosId() {
        return EOS_ID;
    }

    public int maxTokenLength() {
        return maxTokenLength;
    }

    /** Where this tokenizer was read from, as error messages name it. */
    public String source() {
        return source;
    }

    /** The token's piece as stored (a space stands for SentencePiece's ▁; raw bytes read {@code <0xNN>}). */
    public String piece(int id) {
        return new String(pieces[checkId(id)], StandardCharsets.UTF_8);
    }

    public float score(int id) {
        return scores[checkId(id)];
    }

    /** The id whose piece is exactly {@code piece}, or -1. */
    public int idOf(String piece) {
        byte[] bytes = piece.getBytes(StandardCharsets.UTF_8);
        return lookup(bytes, bytes.length);
    }

    /**
     * Fails unless the model's vocabulary is the size of this tokenizer's: a mismatch means the tokenizer
     * belongs to a different model, and ids would silently mean other words.
     */
    public void requireVocabSize(int modelVocabSize) {
        if (modelVocabSize != pieces.length) {
            throw new TokenizerException(TokenizerException.Problem.VOCABULARY_MISMATCH, source,
                    "tokenizer has " + pieces.length + " tokens but the model's vocabulary has " + modelVocabSize);
        }
    }

    // ---------------------------------------------------------------- encoding

    /**
     * Encodes text exactly as run.c's {@code encode}: optional BOS, a dummy-prefix space when the text is
     * not empty, one token per UTF-8 character (raw-byte tokens for characters the vocabulary lacks), then
     * greedy merges of the best-scoring adjacent pair until none is left, then optional EOS.
     *
     * <p>run.c stops at a NUL character because it reads a C string; here NUL is encoded like any other
     * character (it falls back to the raw-byte token {@code <0x00>}).
     */
    public int[] encode(String text, boolean bos, boolean eos) {
        Objects.requireNonNull(text, "text");
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        // worst case: every byte falls back to its own token, plus BOS, the dummy prefix and EOS
        int[] tokens = new int[utf8.length + 3];
        int count = 0;
        if (bos) {
            tokens[count++] = BOS_ID;
        }
        if (utf8.length > 0) {
            tokens[count++] = dummyPrefixId;
        }
        int start = 0;
        while (start < utf8.length) {
            // run.c groups a byte with the continuation bytes after it, at most four bytes in all
            int end = start + 1;
            while (end < utf8.length && (utf8[end] & 0xC0) == 0x80 && end - start < 4) {
                end++;
            }
            int id = lookupRange(utf8, start, end - start);
            if (id >= 0) {
                tokens[count++] = id;
            } else {
                for (int i = start; i < end; i++) {
                    tokens[count++] = requireByteToken((utf8[i] & 0xFF) + BYTE_FALLBACK_OFFSET);
                }
            }
            start = end;
        }
        count = mergePairs(tokens, count);
        if (eos) {
            tokens[count++] = EOS_ID;
        }
        return Arrays.copyOf(tokens, count);
    }

    /**
     * run.c rescans every adjacent pair after each merge; the pair results only change next to the merge,
     * so they are cached in {@code pairMerge} and the rescan is a cheap walk over scores. The pick is the
     * same: the highest score, the leftmost pair on ties, BOS included in the pairs as run.c does.
     */
    private int mergePairs(int[] tokens, int count) {
        if (count < 2) {
            return count;
        }
        byte[] scratch = new byte[2 * longestPiece];
        int[] pairMerge = new int[count - 1];
        for (int i = 0; i < count - 1; i++) {
            pairMerge[i] = lookupPair(tokens[i], tokens[i + 1], scratch);
        }
        while (true) {
            float bestScore = NO_MERGE_SCORE;
            int bestIndex = -1;
            for (int i = 0; i < count - 1; i++) {
                int id = pairMerge[i];
                if (id >= 0 && scores[id] > bestScore) {
                    bestScore = scores[id];
                    bestIndex = i;
                }
            }
            if (bestIndex < 0) {
                return count;
            }
            tokens[bestIndex] = pairMerge[bestIndex];
            System.arraycopy(tokens, bestIndex + 2, tokens, bestIndex + 1, count - bestIndex - 2);
            // pair j (j > bestIndex) now holds what pair j+1 held before the merge
            int shifted = count - bestIndex - 3;
            if (shifted > 0) {
                System.arraycopy(pairMerge, bestIndex + 2, pairMerge, bestIndex + 1, shifted);
            }
            count--;
            if (bestIndex > 0) {
                pairMerge[bestIndex - 1] = lookupPair(tokens[bestIndex - 1], tokens[bestIndex], scratch);
            }
            if (bestIndex < count - 1) {
                pairMerge[bestIndex] = lookupPair(tokens[bestIndex], tokens[bestIndex + 1], scratch);
            }
        }
    }

    private int lookupPair(int left, int right, byte[] scratch) {
        byte[] a = pieces[left];
        byte[] b = pieces[right];
        int length = a.length + b.length;
        if (length > longestPiece) {
            return -1;
        }
        System.arraycopy(a, 0, scratch, 0, a.length);
        System.arraycopy(b, 0, scratch, a.length, b.length);
        return lookup(scratch, length);
    }

    private int lookup(byte[] key, int length) {
        return lookupRange(key, 0, length);
    }

    /** Binary search over the sorted pieces, comparing bytes unsigned as strcmp does; the lowest id on duplicates. */
    private int lookupRange(byte[] key, int from, int length) {
        int low = 0;
        int high = idsByPiece.length;
        while (low < high) {
            int mid = (low + high) >>> 1;
            byte[] candidate = pieces[idsByPiece[mid]];
            if (Arrays.compareUnsigned(candidate, 0, candidate.length, key, from, from + length) < 0) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        if (low < idsByPiece.length) {
            byte[] found = pieces[idsByPiece[low]];
            if (Arrays.equals(found, 0, found.length, key, from, from + length)) {
                return idsByPiece[low];
            }
        }
        return -1;
    }

    private int requireByteToken(int id) {
        if (id >= pieces.length) {
            throw new IllegalStateException(source + ": byte fallback needs token " + id
                    + " but the vocabulary has only " + pieces.length + " tokens");
        }
        return id;
    }

    // ---------------------------------------------------------------- decoding

    /**
     * The bytes run.c's {@code decode(prev, token)} returns: the piece, without its leading space right
     * after BOS, and the raw byte itself for a {@code <0xNN>} piece.
     */
    public byte[] decodeBytes(int prevToken, int token) {
        return decodedPiece(prevToken, token).clone();
    }

    /**
     * {@link #decodeBytes} as text. A raw-byte token may carry only part of a UTF-8 character, which a
     * String cannot hold (it becomes U+FFFD here): stream with {@link #textStream(int)} or decode a whole
     * sequence with {@link #decode(int, int[])} instead.
     */
    public String decode(int prevToken, int token) {
        return new String(decodedPiece(prevToken, token), StandardCharsets.UTF_8);
    }

    /**
     * Decodes a sequence at once: each token with the one before it as context, the first with
     * {@code prevToken} (BOS when the sequence follows a BOS that is not itself printed). Bytes that are
     * not valid UTF-8 become U+FFFD.
     */
    public String decode(int prevToken, int[] tokens) {
        int total = 0;
        int prev = prevToken;
        for (int token : tokens) {
            total += decodedPiece(prev, token).length;
            prev = token;
        }
        byte[] bytes = new byte[total];
        int offset = 0;
        prev = prevToken;
        for (int token : tokens) {
            byte[] piece = decodedPiece(prev, token);
            System.arraycopy(piece, 0, bytes, offset, piece.length);
            offset += piece.length;
            prev = token;
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** A streaming decoder that emits only whole UTF-8 characters; the first token fed sees {@code prevToken}. */
    public TextStream textStream(int prevToken) {
        return new TextStream(this, prevToken);
    }

    /** The internal array: callers in this package must not modify it. */
    byte[] decodedPiece(int prevToken, int token) {
        checkId(token);
        return prevToken == BOS_ID ? decodedAfterBos[token] : decoded[token];
    }

    int longestPiece() {
        return longestPiece;
    }

    /**
     * run.c matches pieces with {@code sscanf(piece, "<0x%02hhX>")}: "&lt;0x" and one or two hex digits make
     * a raw byte. (sscanf would also accept a sign or spaces there; no llama2.c vocabulary has such pieces.)
     */
    private static byte[] rawByteOrSelf(byte[] piece) {
        if (piece.length < 4 || piece[0] != '<' || piece[1] != '0' || piece[2] != 'x') {
            return piece;
        }
        int high = Character.digit(piece[3], 16);
        if (high < 0) {
            return piece;
        }
        int low = piece.length > 4 ? Character.digit(piece[4], 16) : -1;
        int value = low < 0 ? high : high * 16 + low;
        return new byte[] {(byte) value};
    }

    private int checkId(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + pieces.length + ")");
        }
        return id;
    }

    @Override
    public String toString() {
        return "Llama2cTokenizer[" + source + ", " + pieces.length + " tokens]";
    }
}
