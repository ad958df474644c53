package io.tandem.model.tokenizer;

import io.tandem.model.gguf.GgufMetadata;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The {@code gpt2} tokenizer of GGUF files: byte-level BPE as llama.cpp's {@code llm_tokenizer_bpe}. The
 * pre-tokenizer named by {@code tokenizer.ggml.pre} splits text into words; each word's UTF-8 bytes are
 * spelled with GPT-2's byte characters ({@link ByteLevel}); then the adjacent pair with the lowest rank in
 * {@code tokenizer.ggml.merges} is merged until no pair has a rank (ties go to the leftmost pair).
 */
public final class BpeTokenizer implements GgufTokenizer {

    private final GgufVocabulary vocabulary;
    private final SpecialTokenSplitter splitter;
    private final PreTokenizer preTokenizer;
    /** Merge "left right" (as the file spells it) to its rank, the line number in the merges list. */
    private final TokenIndex ranks;
    private final byte[][] decoded;

    private BpeTokenizer(GgufVocabulary vocabulary, PreTokenizer preTokenizer, TokenIndex ranks) {
        this.vocabulary = vocabulary;
        this.splitter = new SpecialTokenSplitter(vocabulary);
        this.preTokenizer = preTokenizer;
        this.ranks = ranks;
        this.decoded = new byte[vocabulary.size()][];
        for (int id = 0; id < decoded.length; id++) {
            decoded[id] = decodePiece(id);
        }
    }

    /** Builds the tokenizer from GGUF metadata with {@code tokenizer.ggml.model = "gpt2"}. */
    public static BpeTokenizer fromMetadata(GgufMetadata metadata) {
        String preName = metadata.findString(GgufVocabulary.PRE).orElse(null);
        PreTokenizer pre;
        try {
            pre = PreTokenizer.forName(preName);
        } catch (IllegalArgumentException e) {
            throw new TokenizerException(TokenizerException.Problem.MALFORMED, metadata.source(),
                    GgufVocabulary.PRE + ": " + e.getMessage());
        }
        // llama.cpp's BPE defaults: BOS and EOS 11 until the metadata says otherwise, no unknown token
        GgufVocabulary vocabulary = new GgufVocabulary(metadata, 11, 11, SpecialTokens.NONE, pre.addsBosByDefault());
        List<String> merges = metadata.getStringArray(GgufVocabulary.MERGES);
        TokenIndex ranks = new TokenIndex(Math.max(1, merges.size()));
        for (int rank = 0; rank < merges.size(); rank++) {
            String merge = merges.get(rank);
            // llama.cpp splits at the first space after the first character and keeps the first rank of a pair
            int space = merge.indexOf(' ', 1);
            String key = space < 0 ? " " : merge;
            ranks.putIfAbsent(key.getBytes(StandardCharsets.UTF_8), rank);
        }
        return new BpeTokenizer(vocabulary, pre, ranks);
    }

    public PreTokenizer preTokenizer() {
        return preTokenizer;
    }

    // ------------------------------------------------------------------ encoding

    @Override
    public int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        SpecialTokens special = vocabulary.special();
        IntList out = new IntList(text.length() + 4);
        if (addSpecial && special.addBos()) {
            out.add(special.bos());
        }
        Session session = new Session();
        for (SpecialTokenSplitter.Fragment fragment : splitter.split(text, parseSpecial)) {
            switch (fragment) {
                case SpecialTokenSplitter.Text(String raw) -> {
                    for (String word : preTokenizer.split(raw)) {
                        session.tokenize(word, out);
                    }
                }
                case SpecialTokenSplitter.Token(int id) -> out.add(id);
            }
        }
        if (addSpecial && special.addEos()) {
            out.add(special.eos());
        }
        return out.toArray();
    }

    /** The merge state of one word: symbols are byte ranges of its byte-level spelling, linked as a list. */
    private final class Session {
        private final BigramQueue queue = new BigramQueue();
        private byte[] text = new byte[64];
        private byte[] pair = new byte[64];
        private int[] start = new int[32];
        private int[] length = new int[32];
        private int[] prev = new int[32];
        private int[] next = new int[32];

        void tokenize(String word, IntList out) {
            byte[] raw = word.getBytes(StandardCharsets.UTF_8);
            int count = spell(raw);
            int total = count == 0 ? 0 : start[count - 1] + length[count - 1];
            TokenIndex index = vocabulary.index();
            if (preTokenizer.ignoresMerges()) {
                int whole = index.get(text, 0, total);
                if (whole >= 0) {
                    out.add(whole);
                    return;
                }
            }
            queue.clear();
            for (int i = 1; i < count; i++) {
                tryAddBigram(i - 1, i);
            }
            while (!queue.isEmpty()) {
                int entry = queue.pop();
                int left = queue.left(entry);
                int right = queue.right(entry);
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
            for (int i = 0; i != -1 && count > 0; i = next[i]) {
                int id = index.get(text, start[i], length[i]);
                if (id >= 0) {
                    out.add(id);
                } else {
                    // llama.cpp then looks up each byte of the spelling on its own and drops what is no token
                    for (int b = start[i]; b < start[i] + length[i]; b++) {
                        int single = index.get(text, b, 1);
                        if (single >= 0) {
                            out.add(single);
                        }
                    }
                }
            }
        }

        /** Writes the byte-level spelling of {@code raw} to {@link #text}, one symbol per raw byte. */
        private int spell(byte[] raw) {
            if (text.length < 2 * raw.length) {
                text = new byte[2 * raw.length];
            }
            if (start.length < raw.length) {
                int n = Math.max(raw.length, 2 * start.length);
                start = new int[n];
                length = new int[n];
                prev = new int[n];
                next = new int[n];
            }
            int offset = 0;
            for (int i = 0; i < raw.length; i++) {
                byte[] spelled = ByteLevel.encoded(raw[i]);
                System.arraycopy(spelled, 0, text, offset, spelled.length);
                start[i] = offset;
                length[i] = spelled.length;
                prev[i] = i - 1;
                next[i] = i + 1 == raw.length ? -1 : i + 1;
                offset += spelled.length;
            }
            return raw.length;
        }

        private void tryAddBigram(int left, int right) {
            if (left < 0 || right < 0) {
                return;
            }
            int size = length[left] + length[right];
            if (pair.length < size + 1) {
                pair = new byte[2 * (size + 1)];
            }
            System.arraycopy(text, start[left], pair, 0, length[left]);
            pair[length[left]] = ' ';
            System.arraycopy(text, start[right], pair, length[left] + 1, length[right]);
            int rank = ranks.get(pair, 0, size + 1);
            if (rank >= 0) {
                // lower ranks merge first: negate them into the queue's highest-first order (exact below 2^24)
                queue.push(-rank, left, right, size);
            }
        }
    }

    // ------------------------------------------------------------------ decoding

    private byte[] decodePiece(int id) {
        String piece = vocabulary.piece(id);
        return switch (vocabulary.type(id)) {
            case NORMAL -> ByteLevel.decode(piece);
            case BYTE -> {
                int value = SpmTokenizer.parseByte(piece);
                yield value >= 0 ? new byte[] {(byte) value} : piece.getBytes(StandardCharsets.UTF_8);
            }
            case CONTROL, UNKNOWN, USER_DEFINED -> vocabulary.utf8(id);
            case UNUSED, UNDEFINED -> new byte[0];
        };
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
        for (int id : ids) {
            vocabulary.checkId(id);
            if (!hidden(id, renderSpecial)) {
                out.writeBytes(decoded[id]);
            }
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
        return "BpeTokenizer[" + vocabulary.source() + ", " + vocabulary.size() + " tokens, pre " + preTokenizer + "]";
    }
}
