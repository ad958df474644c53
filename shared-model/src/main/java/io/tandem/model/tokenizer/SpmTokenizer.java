package io.tandem.model.tokenizer;

import io.tandem.model.gguf.GgufMetadata;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The {@code llama} tokenizer of GGUF files: SentencePiece BPE over a scored vocabulary, as llama.cpp's
 * {@code llm_tokenizer_spm}. Spaces become ▁ (U+2581), a ▁ is put before text that starts the input or
 * follows a special token ({@code tokenizer.ggml.add_space_prefix}, default true), the text is split into
 * UTF-8 characters, and the adjacent pair whose concatenation is the best-scoring token is merged until no
 * pair is a token (ties go to the leftmost pair). Characters left that are no token fall back to their
 * bytes' {@code <0xXX>} tokens.
 */
public final class SpmTokenizer extends VocabularyTokenizer {

    private static final byte[] ESCAPED_SPACE = "\u2581".getBytes(StandardCharsets.UTF_8);
    private static final int[] UTF8_LENGTH = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};

    private final boolean addSpacePrefix;
    /** The token for each byte value in byte fallback, -1 where the vocabulary has none. */
    private final int[] byteTokens = new int[256];

    private SpmTokenizer(GgufVocabulary vocabulary, boolean addSpacePrefix) {
        super(vocabulary, piece -> piece.replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8));
        this.addSpacePrefix = addSpacePrefix;
        for (int b = 0; b < 256; b++) {
            int id = vocabulary.idOf(String.format("<0x%02X>", b));
            if (id < 0 && b < 0x80) {
                // llama.cpp falls back to a piece that is the byte itself
                id = vocabulary.index().get(new byte[] {(byte) b});
            }
            byteTokens[b] = id;
        }
    }

    /** Builds the tokenizer from GGUF metadata with {@code tokenizer.ggml.model = "llama"}. */
    public static SpmTokenizer fromMetadata(GgufMetadata metadata) {
        GgufVocabulary vocabulary = new GgufVocabulary(metadata, 1, 2, 0, true);
        boolean addSpacePrefix = metadata.findBool(GgufVocabulary.ADD_SPACE_PREFIX).orElse(true);
        return new SpmTokenizer(vocabulary, addSpacePrefix);
    }

    public boolean addSpacePrefix() {
        return addSpacePrefix;
    }

    // ------------------------------------------------------------------ encoding

    @Override
    void encodeFragments(List<SpecialTokenSplitter.Fragment> fragments, IntList out) {
        boolean afterSpecial = true;
        Session session = new Session();
        for (SpecialTokenSplitter.Fragment fragment : fragments) {
            switch (fragment) {
                case SpecialTokenSplitter.Text(String raw) -> {
                    session.tokenize(escape(addSpacePrefix && afterSpecial ? " " + raw : raw), out);
                    afterSpecial = false;
                }
                case SpecialTokenSplitter.Token(int id) -> {
                    out.add(id);
                    afterSpecial = true;
                }
            }
        }
    }

    /** UTF-8 with every space replaced by ▁. */
    private static byte[] escape(String text) {
        byte[] raw = text.getBytes(StandardCharsets.UTF_8);
        int spaces = 0;
        for (byte b : raw) {
            if (b == ' ') {
                spaces++;
            }
        }
        byte[] out = new byte[raw.length + spaces * (ESCAPED_SPACE.length - 1)];
        int o = 0;
        for (byte b : raw) {
            if (b == ' ') {
                System.arraycopy(ESCAPED_SPACE, 0, out, o, ESCAPED_SPACE.length);
                o += ESCAPED_SPACE.length;
            } else {
                out[o++] = b;
            }
        }
        return out;
    }

    /** The merge state of one fragment: symbols are byte ranges of the text, first one per UTF-8 character. */
    private final class Session {
        private final SymbolMerger symbols = new SymbolMerger();
        private final SymbolMerger.PairPriority byScore = this::score;
        private byte[] text;

        void tokenize(byte[] text, IntList out) {
            this.text = text;
            symbols.reset(text.length);
            for (int offset = 0; offset < text.length; ) {
                int n = Math.min(UTF8_LENGTH[(text[offset] & 0xFF) >>> 4], text.length - offset);
                symbols.add(offset, n);
                offset += n;
            }
            symbols.merge(byScore);
            TokenIndex index = vocabulary.index();
            symbols.emit(index, text, out, (start, length, ids) -> {
                for (int b = start; b < start + length; b++) {
                    ids.add(byteToken(text[b] & 0xFF));
                }
            });
        }

        /** A pair merges when the two together are a token; the better its score, the sooner. */
        private float score(int leftStart, int leftLength, int rightStart, int rightLength) {
            int id = vocabulary.index().get(text, leftStart, leftLength + rightLength);
            return id >= 0 ? vocabulary.score(id) : Float.NaN;
        }
    }

    private int byteToken(int b) {
        int id = byteTokens[b];
        if (id >= 0) {
            return id;
        }
        int unk = vocabulary.special().unk();
        if (unk >= 0) {
            return unk;
        }
        throw new TokenizerException(TokenizerException.Problem.MALFORMED, vocabulary.source(), String.format(
                "byte 0x%02X needs a byte-fallback token <0x%02X>, which the vocabulary lacks, and it has no unknown token", b, b));
    }

    // ------------------------------------------------------------------ decoding

    @Override
    public byte[] decodeBytes(int[] ids, boolean renderSpecial) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
        // the space the encoder put before the first word: drop it once, past any leading control tokens
        boolean stripSpace = addSpacePrefix;
        for (int id : ids) {
            vocabulary.checkId(id);
            TokenType type = vocabulary.type(id);
            if (type == TokenType.CONTROL) {
                if (renderSpecial) {
                    out.writeBytes(decoded[id]);
                }
                continue;
            }
            if (hidden(id, renderSpecial)) {
                continue;
            }
            byte[] piece = decoded[id];
            int from = stripSpace && type == TokenType.NORMAL && piece.length > 0 && piece[0] == ' ' ? 1 : 0;
            out.write(piece, from, piece.length - from);
            stripSpace = false;
        }
        return out.toByteArray();
    }

    /** Right after BOS the first word's piece carries the space the encoder put before the text: drop it. */
    @Override
    byte[] streamedPiece(int previous, int token) {
        byte[] piece = super.streamedPiece(previous, token);
        if (addSpacePrefix && previous == vocabulary.special().bos() && vocabulary.type(token) == TokenType.NORMAL
                && piece.length > 0 && piece[0] == ' ') {
            return java.util.Arrays.copyOfRange(piece, 1, piece.length);
        }
        return piece;
    }

    @Override
    public String toString() {
        return "SpmTokenizer[" + vocabulary.source() + ", " + vocabulary.size() + " tokens]";
    }
}
