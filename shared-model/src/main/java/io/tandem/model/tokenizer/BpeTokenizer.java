package io.tandem.model.tokenizer;

import io.tandem.model.gguf.GgufMetadata;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The {@code gpt2} tokenizer of GGUF files: byte-level BPE as llama.cpp's {@code llm_tokenizer_bpe}. The
 * pre-tokenizer named by {@code tokenizer.ggml.pre} splits text into words; each word's UTF-8 bytes are
 * spelled with GPT-2's byte characters ({@link ByteLevel}); then the adjacent pair with the lowest rank in
 * {@code tokenizer.ggml.merges} is merged until no pair has a rank (ties go to the leftmost pair).
 */
public final class BpeTokenizer extends VocabularyTokenizer {

    private final PreTokenizer preTokenizer;
    /** Merge "left right" (as the file spells it) to its rank, the line number in the merges list. */
    private final TokenIndex ranks;

    private BpeTokenizer(GgufVocabulary vocabulary, PreTokenizer preTokenizer, TokenIndex ranks) {
        super(vocabulary, ByteLevel::decode);
        this.preTokenizer = preTokenizer;
        this.ranks = ranks;
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
    void encodeFragments(List<SpecialTokenSplitter.Fragment> fragments, IntList out) {
        Session session = new Session();
        for (SpecialTokenSplitter.Fragment fragment : fragments) {
            switch (fragment) {
                case SpecialTokenSplitter.Text(String raw) -> {
                    for (String word : preTokenizer.split(raw)) {
                        session.tokenize(word, out);
                    }
                }
                case SpecialTokenSplitter.Token(int id) -> out.add(id);
            }
        }
    }

    /** The merge state of one word: symbols are byte ranges of its byte-level spelling. */
    private final class Session {
        private final SymbolMerger symbols = new SymbolMerger();
        private final SymbolMerger.PairPriority byRank = this::rank;
        private byte[] text = new byte[64];
        private byte[] pair = new byte[64];

        void tokenize(String word, IntList out) {
            byte[] raw = word.getBytes(StandardCharsets.UTF_8);
            int total = spell(raw);
            TokenIndex index = vocabulary.index();
            if (preTokenizer.ignoresMerges()) {
                int whole = index.get(text, 0, total);
                if (whole >= 0) {
                    out.add(whole);
                    return;
                }
            }
            symbols.merge(byRank);
            // llama.cpp looks up each byte of a spelling that is no token on its own and drops what is no token
            symbols.emit(index, text, out, (start, length, ids) -> {
                for (int b = start; b < start + length; b++) {
                    int single = index.get(text, b, 1);
                    if (single >= 0) {
                        ids.add(single);
                    }
                }
            });
        }

        /** Writes the byte-level spelling of {@code raw} to {@link #text}, one symbol per raw byte; returns its length. */
        private int spell(byte[] raw) {
            if (text.length < 2 * raw.length) {
                text = new byte[2 * raw.length];
            }
            symbols.reset(raw.length);
            int offset = 0;
            for (byte b : raw) {
                byte[] spelled = ByteLevel.encoded(b);
                System.arraycopy(spelled, 0, text, offset, spelled.length);
                symbols.add(offset, spelled.length);
                offset += spelled.length;
            }
            return offset;
        }

        /** Merges are keyed "left right"; lower ranks merge first (negated: the queue is highest-first, exact below 2^24). */
        private float rank(int leftStart, int leftLength, int rightStart, int rightLength) {
            int size = leftLength + rightLength + 1;
            if (pair.length < size) {
                pair = new byte[2 * size];
            }
            System.arraycopy(text, leftStart, pair, 0, leftLength);
            pair[leftLength] = ' ';
            System.arraycopy(text, rightStart, pair, leftLength + 1, rightLength);
            int rank = ranks.get(pair, 0, size);
            return rank >= 0 ? -rank : Float.NaN;
        }
    }

    @Override
    public String toString() {
        return "BpeTokenizer[" + vocabulary.source() + ", " + vocabulary.size() + " tokens, pre " + preTokenizer + "]";
    }
}
