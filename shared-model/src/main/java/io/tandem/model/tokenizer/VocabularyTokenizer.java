package io.tandem.model.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * What both GGUF tokenizers share: the vocabulary and what it answers, the special-token splitter, and
 * each token's decoded bytes computed once. They differ in how they encode and in how a normal token's
 * stored text becomes bytes (SentencePiece's ▁ or GPT-2's byte characters).
 */
abstract sealed class VocabularyTokenizer implements GgufTokenizer permits SpmTokenizer, BpeTokenizer {

    final GgufVocabulary vocabulary;
    final SpecialTokenSplitter splitter;
    /** What each token decodes to (special tokens as their text). */
    final byte[][] decoded;
    /** The most bytes one token decodes to: the streaming decoder's buffer size. */
    private final int longestDecoded;

    /** @param normalBytes the bytes a NORMAL token's stored text stands for */
    VocabularyTokenizer(GgufVocabulary vocabulary, Function<String, byte[]> normalBytes) {
        this.vocabulary = vocabulary;
        this.splitter = new SpecialTokenSplitter(vocabulary);
        this.decoded = new byte[vocabulary.size()][];
        for (int id = 0; id < decoded.length; id++) {
            String piece = vocabulary.piece(id);
            decoded[id] = switch (vocabulary.type(id)) {
                case NORMAL -> normalBytes.apply(piece);
                case BYTE -> {
                    int value = parseByte(piece);
                    yield value >= 0 ? new byte[] {(byte) value} : piece.getBytes(StandardCharsets.UTF_8);
                }
                case CONTROL, UNKNOWN, USER_DEFINED -> vocabulary.utf8(id);
                case UNUSED, UNDEFINED -> new byte[0];
            };
        }
        int longest = 0;
        for (byte[] bytes : decoded) {
            longest = Math.max(longest, bytes.length);
        }
        this.longestDecoded = longest;
    }

    /** BOS, the text's fragments as the subclass encodes them, then EOS, as the vocabulary asks. */
    @Override
    public final int[] encode(String text, boolean addSpecial, boolean parseSpecial) {
        SpecialTokens special = vocabulary.special();
        IntList out = new IntList(text.length() + 4);
        if (addSpecial && special.addBos()) {
            out.add(special.bos());
        }
        encodeFragments(splitter.split(text, parseSpecial), out);
        if (addSpecial && special.addEos()) {
            out.add(special.eos());
        }
        return out.toArray();
    }

    /** Appends the ids of the text split around special tokens (which are ids already). */
    abstract void encodeFragments(List<SpecialTokenSplitter.Fragment> fragments, IntList out);

    /** llama.cpp reads the two hex digits after "&lt;0x". */
    static int parseByte(String piece) {
        if (piece.length() != 6 || !piece.startsWith("<0x") || piece.charAt(5) != '>') {
            return -1;
        }
        int high = Character.digit(piece.charAt(3), 16);
        int low = Character.digit(piece.charAt(4), 16);
        return high < 0 || low < 0 ? -1 : high * 16 + low;
    }

    /** Control and unknown tokens stay out of decoded text unless asked for. */
    boolean hidden(int id, boolean renderSpecial) {
        TokenType type = vocabulary.type(id);
        return !renderSpecial && (type == TokenType.CONTROL || type == TokenType.UNKNOWN);
    }

    @Override
    public byte[] pieceBytes(int id, boolean renderSpecial) {
        vocabulary.checkId(id);
        return hidden(id, renderSpecial) ? new byte[0] : decoded[id].clone();
    }

    @Override
    public TextStream textStream(int previousToken) {
        return new TextStream(this::streamedPiece, longestDecoded, previousToken);
    }

    /** The bytes {@code token} adds to generated text after {@code previous}; the array is only read. */
    byte[] streamedPiece(int previous, int token) {
        vocabulary.checkId(token);
        return hidden(token, false) ? EMPTY : decoded[token];
    }

    private static final byte[] EMPTY = new byte[0];

    /** The tokens' bytes in order; SentencePiece overrides it to drop the encoder's leading space. */
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
}
