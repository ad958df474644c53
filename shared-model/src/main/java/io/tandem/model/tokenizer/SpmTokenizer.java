package io.tandem.model.tokenizer;

import io.tandem.model.gguf.GgufMetadata;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.Set;

/**
 * The {@code llama} tokenizer of GGUF files: SentencePiece BPE over a scored vocabulary, as llama.cpp's
 * {@code llm_tokenizer_spm}. Spaces become ▁ (U+2581), a ▁ is put before text that starts the input or
 * follows a special token ({@code tokenizer.ggml.add_space_prefix}, default true), the text is split into
 * UTF-8 characters, and the adjacent pair whose concatenation is the best-scoring token is merged until no
 * pair is a token (ties go to the leftmost pair). Characters left that are no token fall back to their
 * bytes' {@code <0xXX>} tokens.
 */
public final class SpmTokenizer implements GgufTokenizer {

    private static final byte[] ESCAPED_SPACE = "\u2581".getBytes(StandardCharsets.UTF_8);
    private static final int[] UTF8_LENGTH = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};

    private final GgufVocabulary vocabulary;
    private final SpecialTokenSplitter splitter;
    private final boolean addSpacePrefix;
    /** The token for each byte value in byte fallback, -1 where the vocabulary has none. */
    private final int[] byteTokens = new int[256];
    /** What each token decodes to (special tokens as their text), computed once. */
    private final byte[][] decoded;

    private SpmTokenizer(GgufVocabulary vocabulary, boolean addSpacePrefix) {
        this.vocabulary = vocabulary;
        this.splitter = new SpecialTokenSplitter(vocabulary);
        this.addSpacePrefix = addSpacePrefix;
        for (int b = 0; b < 256; b++) {
            int id = vocabulary.idOf(String.format("<0x%02X>", b));
            if (id < 0 && b < 0x80) {
                // llama.cpp falls back to a piece that is the byte itself
                id = vocabulary.index().get(new byte[] {(byte) b});
            }
            byteTokens[b] = id;
        }
        this.decoded = new byte[vocabulary.size()][];
        for (int id = 0; id < decoded.length; id++) {
            decoded[id] = decodePiece(id);
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
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        SpecialTokens special = vocabulary.special();
        IntList out = new IntList(text.length() + 4);
        if (addSpecial && special.addBos()) {
            out.add(special.bos());
        }
        boolean afterSpecial = true;
        Session session = new Session();
        for (SpecialTokenSplitter.Fragment fragment : splitter.split(text, parseSpecial)) {
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
        if (addSpecial && special.addEos()) {
            out.add(special.eos());
        }
        return out.toArray();
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

    /** The merge state of one fragment: symbols are byte ranges of the text, linked as a list. */
    private final class Session {
        private final BigramQueue queue = new BigramQueue();
        private int[] start = new int[16];
        private int[] length = new int[16];
        private int[] prev = new int[16];
        private int[] next = new int[16];
        private byte[] text;

        void tokenize(byte[] text, IntList out) {
            this.text = text;
            int count = 0;
            if (start.length < text.length) {
                int n = Math.max(text.length, 2 * start.length);
                start = new int[n];
                length = new int[n];
                prev = new int[n];
                next = new int[n];
            }
            for (int offset = 0; offset < text.length; count++) {
                int n = Math.min(UTF8_LENGTH[(text[offset] & 0xFF) >>> 4], text.length - offset);
                start[count] = offset;
                length[count] = n;
                prev[count] = count - 1;
                offset += n;
                next[count] = offset == text.length ? -1 : count + 1;
            }
            if (count == 0) {
                return;
            }
            queue.clear();
            for (int i = 1; i < count; i++) {
                tryAddBigram(i - 1, i);
            }
            while (!queue.isEmpty()) {
                int entry = queue.pop();
                int left = queue.left(entry);
                int right = queue.right(entry);
                // stale: one side was merged away, or the pair has grown since it was queued
                if (length[left] == 0 || length[right] == 0 || length[left] + length[right] != queue.size(entry)) {
                    continue;
                }
                length[left] += length[right];
                length[right] = 0;
                next[left] = next[right];
                if (next[right] >= 0) {
                    prev[next[right]] = left;
                }
                tryAddBigram(prev[left], left);
                tryAddBigram(left, next[left]);
            }
            TokenIndex index = vocabulary.index();
            for (int i = 0; i != -1; i = next[i]) {
                int id = index.get(text, start[i], length[i]);
                if (id >= 0) {
                    out.add(id);
                } else {
                    for (int b = start[i]; b < start[i] + length[i]; b++) {
                        out.add(byteToken(text[b] & 0xFF));
                    }
                }
            }
        }

        private void tryAddBigram(int left, int right) {
            if (left < 0 || right < 0) {
                return;
            }
            int size = length[left] + length[right];
            int id = vocabulary.index().get(text, start[left], size);
            if (id >= 0) {
                queue.push(vocabulary.score(id), left, right, size);
            }
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

    private byte[] decodePiece(int id) {
        String piece = vocabulary.piece(id);
        return switch (vocabulary.type(id)) {
            case NORMAL -> piece.replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8);
            case BYTE -> {
                int value = parseByte(piece);
                yield value >= 0 ? new byte[] {(byte) value} : piece.getBytes(StandardCharsets.UTF_8);
            }
            case CONTROL, UNKNOWN, USER_DEFINED -> vocabulary.utf8(id);
            case UNUSED, UNDEFINED -> new byte[0];
        };
    }

    /** llama.cpp reads the two hex digits after "&lt;0x". */
    static int parseByte(String piece) {
        if (piece.length() != 6 || !piece.startsWith("<0x") || piece.charAt(5) != '>') {
            return -1;
        }
        int high = Character.digit(piece.charAt(3), 16);
        int low = Character.digit(piece.charAt(4), 16);
        return high < 0 || low < 0 ? -1 : high * 16 + low;
    }

    @Override
    public byte[] pieceBytes(int id, boolean renderSpecial) {
        vocabulary.checkId(id);
        return hidden(id, renderSpecial) ? new byte[0] : decoded[id].clone();
    }

    private boolean hidden(int id, boolean renderSpecial) {
        TokenType type = vocabulary.type(id);
        return !renderSpecial && (type == TokenType.CONTROL || type == TokenType.UNKNOWN);
    }

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

    // ------------------------------------------------------------------ vocabulary

    @Override
    public int vocabSize() {
        return vocabulary.size();
    }

    @Override
    public String piece(int id) {
        return vocabulary.piece(id);
    }

    @Override
    public TokenType tokenType(int id) {
        return vocabulary.type(id);
    }

    @Override
    public float score(int id) {
        return vocabulary.score(id);
    }

    @Override
    public int idOf(String piece) {
        return vocabulary.idOf(piece);
    }

    @Override
    public SpecialTokens specialTokens() {
        return vocabulary.special();
    }

    @Override
    public boolean isEndOfGeneration(int id) {
        return vocabulary.endOfGeneration().contains(id);
    }

    @Override
    public Set<Integer> endOfGenerationIds() {
        return vocabulary.endOfGeneration();
    }

    @Override
    public Optional<String> chatTemplate() {
        return vocabulary.chatTemplate();
    }

    @Override
    public String toString() {
        return "SpmTokenizer[" + vocabulary.source() + ", " + vocabulary.size() + " tokens]";
    }
}
