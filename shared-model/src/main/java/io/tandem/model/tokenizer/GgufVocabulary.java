package io.tandem.model.tokenizer;

import io.tandem.model.gguf.GgufMetadata;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The vocabulary part of a GGUF tokenizer, shared by both models: pieces, scores, token types, special
 * ids and the chat template, read from the {@code tokenizer.*} metadata keys with llama.cpp's defaults.
 * Immutable.
 */
final class GgufVocabulary {

    static final String MODEL = "tokenizer.ggml.model";
    static final String PRE = "tokenizer.ggml.pre";
    static final String TOKENS = "tokenizer.ggml.tokens";
    static final String SCORES = "tokenizer.ggml.scores";
    static final String TOKEN_TYPE = "tokenizer.ggml.token_type";
    static final String MERGES = "tokenizer.ggml.merges";
    static final String BOS_ID = "tokenizer.ggml.bos_token_id";
    static final String EOS_ID = "tokenizer.ggml.eos_token_id";
    static final String EOT_ID = "tokenizer.ggml.eot_token_id";
    static final String EOM_ID = "tokenizer.ggml.eom_token_id";
    static final String UNK_ID = "tokenizer.ggml.unknown_token_id";
    static final String PAD_ID = "tokenizer.ggml.padding_token_id";
    static final String ADD_BOS = "tokenizer.ggml.add_bos_token";
    static final String ADD_EOS = "tokenizer.ggml.add_eos_token";
    static final String ADD_SPACE_PREFIX = "tokenizer.ggml.add_space_prefix";
    static final String CHAT_TEMPLATE = "tokenizer.chat_template";

    /** Texts llama.cpp takes for the end-of-turn token when the file names none. */
    private static final List<String> EOT_TEXTS = List.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
            "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "<｜end▁of▁sentence｜>");
    /** Texts llama.cpp treats as ending generation, besides the EOS, EOT and EOM ids. */
    private static final List<String> EOG_TEXTS = List.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
            "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<｜end▁of▁sentence｜>");

    private final String source;
    private final String[] pieces;
    private final byte[][] utf8;
    private final float[] scores;
    private final TokenType[] types;
    private final TokenIndex index;
    private final int longestPiece;
    /** CONTROL, USER_DEFINED and UNKNOWN ids, longest text first: the order special tokens are cut out of text. */
    private final int[] specialsByLength;
    private final SpecialTokens special;
    private final Set<Integer> endOfGeneration;
    private final String chatTemplate;

    /**
     * @param defaultBos   the BOS id before the metadata overrides it (llama.cpp: 1 for SentencePiece, 11 for BPE)
     * @param defaultAddBos whether BOS is added when the metadata does not say
     */
    GgufVocabulary(GgufMetadata metadata, int defaultBos, int defaultEos, int defaultUnk, boolean defaultAddBos) {
        this.source = metadata.source();
        List<String> tokens = metadata.getStringArray(TOKENS);
        int n = tokens.size();
        if (n == 0) {
            throw new TokenizerException(TokenizerException.Problem.MALFORMED, source, TOKENS + " is empty");
        }
        this.pieces = tokens.toArray(new String[0]);
        this.utf8 = new byte[n][];
        this.index = new TokenIndex(n);
        int longest = 0;
        for (int id = 0; id < n; id++) {
            utf8[id] = pieces[id].getBytes(StandardCharsets.UTF_8);
            index.putIfAbsent(utf8[id], id);
            longest = Math.max(longest, utf8[id].length);
        }
        this.longestPiece = longest;
        this.scores = metadata.contains(SCORES) ? metadata.getFloatArray(SCORES) : new float[n];
        requireLength(SCORES, scores.length, n);
        this.types = new TokenType[n];
        if (metadata.contains(TOKEN_TYPE)) {
            int[] ids = metadata.getIntArray(TOKEN_TYPE);
            requireLength(TOKEN_TYPE, ids.length, n);
            for (int id = 0; id < n; id++) {
                types[id] = TokenType.fromId(ids[id]);
            }
        } else {
            java.util.Arrays.fill(types, TokenType.NORMAL);
        }

        int bos = specialId(metadata, BOS_ID, defaultBos);
        int eos = specialId(metadata, EOS_ID, defaultEos);
        int unk = specialId(metadata, UNK_ID, defaultUnk);
        int pad = specialId(metadata, PAD_ID, SpecialTokens.NONE);
        int eom = specialId(metadata, EOM_ID, SpecialTokens.NONE);
        int eot = specialId(metadata, EOT_ID, SpecialTokens.NONE);
        if (eot == SpecialTokens.NONE) {
            eot = firstWithText(EOT_TEXTS).orElse(SpecialTokens.NONE);
        }
        boolean addBos = metadata.findBool(ADD_BOS).orElse(defaultAddBos);
        boolean addEos = metadata.findBool(ADD_EOS).orElse(false);
        if (addBos && bos == SpecialTokens.NONE) {
            throw new TokenizerException(TokenizerException.Problem.MALFORMED, source, ADD_BOS + " is true but there is no BOS token");
        }
        if (addEos && eos == SpecialTokens.NONE) {
            throw new TokenizerException(TokenizerException.Problem.MALFORMED, source, ADD_EOS + " is true but there is no EOS token");
        }
        this.special = new SpecialTokens(bos, eos, eot, eom, unk, pad, addBos, addEos);

        Set<Integer> eog = new LinkedHashSet<>();
        for (int id : new int[] {eos, eot, eom}) {
            if (id != SpecialTokens.NONE) {
                eog.add(id);
            }
        }
        for (String text : EOG_TEXTS) {
            int id = idOf(text);
            if (id >= 0) {
                eog.add(id);
            }
        }
        this.endOfGeneration = Collections.unmodifiableSet(eog);

        List<Integer> specials = new ArrayList<>();
        for (int id = 0; id < n; id++) {
            if (types[id].isSpecial() && utf8[id].length > 0) {
                specials.add(id);
            }
        }
        // longest first, so that a special token containing a shorter one wins; ids break ties for determinism
        specials.sort(Comparator.<Integer>comparingInt(id -> -utf8[id].length).thenComparingInt(id -> id));
        this.specialsByLength = specials.stream().mapToInt(Integer::intValue).toArray();
        this.chatTemplate = metadata.findString(CHAT_TEMPLATE).orElse(null);
    }

    private void requireLength(String key, int length, int tokens) {
        if (length < tokens) {
            throw new TokenizerException(TokenizerException.Problem.MALFORMED, source, key + " has " + length
                    + " entries for " + tokens + " tokens");
        }
    }

    /** llama.cpp keeps the default when the key is absent or names an id outside the vocabulary. */
    private int specialId(GgufMetadata metadata, String key, int fallback) {
        int n = pieces.length;
        int id = fallback >= 0 && fallback < n ? fallback : SpecialTokens.NONE;
        if (metadata.contains(key)) {
            long value = metadata.getLong(key);
            if (value >= 0 && value < n) {
                id = (int) value;
            }
        }
        return id;
    }

    private Optional<Integer> firstWithText(List<String> texts) {
        for (String text : texts) {
            int id = idOf(text);
            if (id >= 0) {
                return Optional.of(id);
            }
        }
        return Optional.empty();
    }

    String source() {
        return source;
    }

    int size() {
        return pieces.length;
    }

    String piece(int id) {
        return pieces[checkId(id)];
    }

    /** The internal array: callers in this package must not modify it. */
    byte[] utf8(int id) {
        return utf8[id];
    }

    float score(int id) {
        return scores[checkId(id)];
    }

    TokenType type(int id) {
        return types[checkId(id)];
    }

    int idOf(String piece) {
        return index.get(piece.getBytes(StandardCharsets.UTF_8));
    }

    TokenIndex index() {
        return index;
    }

    int longestPiece() {
        return longestPiece;
    }

    int[] specialsByLength() {
        return specialsByLength;
    }

    SpecialTokens special() {
        return special;
    }

    Set<Integer> endOfGeneration() {
        return endOfGeneration;
    }

    Optional<String> chatTemplate() {
        return Optional.ofNullable(chatTemplate);
    }

    int checkId(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + pieces.length + ")");
        }
        return id;
    }
}
