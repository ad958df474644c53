package io.tandem.model.tokenizer;

import io.tandem.model.gguf.GgufFile;
import io.tandem.model.gguf.GgufMetadata;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;

/**
 * A tokenizer built from the {@code tokenizer.*} metadata of a GGUF file, encoding as llama.cpp does:
 * {@code tokenizer.ggml.model = "llama"} is SentencePiece-style ({@link SpmTokenizer}), {@code "gpt2"} is
 * byte-level BPE ({@link BpeTokenizer}). Instances are immutable and thread-safe.
 */
public sealed interface GgufTokenizer permits VocabularyTokenizer {

    /** Reads the tokenizer of a GGUF file (only its metadata is read). */
    static GgufTokenizer load(Path gguf) throws IOException {
        try (GgufFile file = GgufFile.open(gguf)) {
            return fromMetadata(file.metadata());
        }
    }

    /**
     * Builds the tokenizer the metadata describes.
     *
     * @throws TokenizerException for a tokenizer model or pre-tokenizer this code does not implement, or
     *                            inconsistent tokenizer metadata
     * @throws io.tandem.model.gguf.GgufException when a required key is missing or has the wrong type
     */
    static GgufTokenizer fromMetadata(GgufMetadata metadata) {
        String model = metadata.getString(GgufVocabulary.MODEL);
        return switch (model) {
            case "llama" -> SpmTokenizer.fromMetadata(metadata);
            case "gpt2" -> BpeTokenizer.fromMetadata(metadata);
            default -> throw new TokenizerException(TokenizerException.Problem.MALFORMED, metadata.source(),
                    GgufVocabulary.MODEL + " is '" + model + "'; supported are 'llama' (SentencePiece) and 'gpt2' (byte-level BPE)");
        };
    }

    int vocabSize();

    /** The token's text as the vocabulary stores it (SentencePiece's ▁, GPT-2's Ġ and &lt;0xXX&gt; included). */
    String piece(int id);

    TokenType tokenType(int id);

    /** The SentencePiece score (0 for BPE vocabularies, which rank merges instead). */
    float score(int id);

    /** The id whose stored text is exactly {@code piece}, or -1. */
    int idOf(String piece);

    SpecialTokens specialTokens();

    /** Whether generation should stop at this token: EOS, EOT, EOM and the end-of-turn texts llama.cpp knows. */
    boolean isEndOfGeneration(int id);

    Set<Integer> endOfGenerationIds();

    /** {@code tokenizer.chat_template}, a Jinja template, when the file has one. */
    Optional<String> chatTemplate();

    /**
     * Encodes text.
     *
     * @param addSpecial   add BOS / EOS where the vocabulary asks for them ({@link SpecialTokens#addBos()})
     * @param parseSpecial match the text of CONTROL tokens (e.g. "&lt;|im_start|&gt;") as those tokens;
     *                     USER_DEFINED tokens always match. Leave false for untrusted user text.
     */
    int[] encode(String text, boolean addSpecial, boolean parseSpecial);

    /** {@code encode(text, true, false)}: a prompt from user text. */
    default int[] encode(String text) {
        return encode(text, true, false);
    }

    /** The bytes one token stands for, with no context (SentencePiece's leading space is kept). */
    byte[] pieceBytes(int id, boolean renderSpecial);

    /**
     * The bytes of a token sequence. CONTROL and UNKNOWN tokens produce nothing unless
     * {@code renderSpecial}; a SentencePiece vocabulary drops the space its encoder put before the first
     * word. No other clean-up is done (llama.cpp's clean_spaces is not applied), so decoding what
     * {@link #encode} produced gives the text back.
     */
    byte[] decodeBytes(int[] ids, boolean renderSpecial);

    /**
     * A streaming decoder for generated tokens that follow {@code previousToken}: the text each token
     * completes, whole UTF-8 characters only, special tokens left out. A SentencePiece vocabulary drops the
     * encoder's leading space from a first word that follows BOS, as {@link #decodeBytes} does at the start.
     */
    TextStream textStream(int previousToken);

    /** {@link #decodeBytes} as text, special tokens left out; bytes that are not valid UTF-8 become U+FFFD. */
    default String decode(int[] ids) {
        return new String(decodeBytes(ids, false), StandardCharsets.UTF_8);
    }
}
