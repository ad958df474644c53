package io.tandem.model.engine;

import io.tandem.model.chat.ChatTemplate;
import io.tandem.model.chat.ChatTemplateException;
import io.tandem.model.chat.ChatTemplates;
import io.tandem.model.generate.TokenText;
import io.tandem.model.gguf.GgufException;
import io.tandem.model.tokenizer.GgufTokenizer;
import io.tandem.model.tokenizer.Llama2cTokenizer;
import io.tandem.model.tokenizer.SpecialTokens;
import io.tandem.model.tokenizer.TextStream;
import io.tandem.model.tokenizer.TokenizerException;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;

/**
 * The tokenizer a model runs with, as the engine and the services use it: prompts to ids, generated ids
 * to streamed text, and the ids that end a generation. One implementation per model family; the set is
 * closed so callers that need the underlying tokenizer can switch over it.
 */
public sealed interface ModelTokenizer {

    /** Where the vocabulary came from (a file, a resource), for messages. */
    String source();

    int vocabSize();

    /** Prompt ids from user text: BOS when the model expects one, the text with special-token texts left as text. */
    int[] encodePrompt(String text);

    /**
     * Prompt ids from a conversation rendered by the model's chat template: the template's markup (e.g.
     * {@code <|im_start|>}) becomes its special tokens, and a BOS the template wrote itself is not doubled.
     */
    int[] encodeChatPrompt(String rendered);

    /** Incremental text of generated ids. */
    TokenText tokenText();

    /** Ids that end a generation. */
    Set<Integer> endTokens();

    /** {@code tokenizer.chat_template}, the model's Jinja chat template, when it has one. */
    Optional<String> chatTemplateSource();

    /** The BOS and EOS texts a chat template may write ({@code bos_token}, {@code eos_token}); null when none. */
    String bosText();

    String eosText();

    /**
     * How a conversation becomes this model's prompt text: its own Jinja template, compiled now, or
     * {@link ChatTemplate#PLAIN} for a model without one. Encode what it renders with
     * {@link #encodeChatPrompt}.
     *
     * @throws io.tandem.model.ModelFileException when the model's template does not compile
     */
    default ChatTemplate chatTemplate() {
        return ChatTemplates.forModel(chatTemplateSource().orElse(null), bosText(), eosText());
    }

    /**
     * The bytes a token adds to generated text (in the middle of it: no BOS-dependent space handling), or
     * null for a token that stands for no text (BOS, EOS, control tokens).
     */
    byte[] tokenBytes(int id);

    /** The vocabulary as bytes for constrained decoding; build once per model and keep it. */
    default io.tandem.model.constrain.ConstrainedVocabulary constrainedVocabulary() {
        byte[][] bytes = new byte[vocabSize()][];
        for (int id = 0; id < bytes.length; id++) {
            bytes[id] = tokenBytes(id);
        }
        return new io.tandem.model.constrain.ConstrainedVocabulary(bytes, endTokens());
    }

    /** Fails unless the model's vocabulary is this tokenizer's size: otherwise ids would mean other words. */
    default void requireVocabSize(int modelVocabSize) {
        if (modelVocabSize != vocabSize()) {
            throw new TokenizerException(TokenizerException.Problem.VOCABULARY_MISMATCH, source(),
                    "tokenizer has " + vocabSize() + " tokens but the model's vocabulary has " + modelVocabSize);
        }
    }

    /** A llama2.c {@code tokenizer.bin}: prompts and text exactly as llama2.c's run.c makes them. */
    record Llama2c(Llama2cTokenizer tokenizer) implements ModelTokenizer {

        @Override
        public String source() {
            return tokenizer.source();
        }

        @Override
        public int vocabSize() {
            return tokenizer.vocabSize();
        }

        @Override
        public byte[] tokenBytes(int id) {
            if (id == tokenizer.bosId() || id == tokenizer.eosId()) {
                return null;
            }
            return tokenizer.decodeBytes(tokenizer.eosId(), id);
        }

        /** BOS, then the text with its dummy-prefix space, as run.c encodes it. */
        @Override
        public int[] encodePrompt(String text) {
            return tokenizer.encode(text, true, false);
        }

        /** llama2.c vocabularies have no markup tokens: a rendered conversation is plain text. */
        @Override
        public int[] encodeChatPrompt(String rendered) {
            return encodePrompt(rendered);
        }

        @Override
        public TokenText tokenText() {
            return streams(tokenizer::textStream);
        }

        /** llama2.c models end a story by starting the next one (BOS); EOS ends it too. */
        @Override
        public Set<Integer> endTokens() {
            return Set.of(tokenizer.bosId(), tokenizer.eosId());
        }

        @Override
        public Optional<String> chatTemplateSource() {
            return Optional.empty();
        }

        @Override
        public String bosText() {
            return "<s>";
        }

        @Override
        public String eosText() {
            return "</s>";
        }
    }

    /** The tokenizer in a GGUF file's metadata, encoding and ending generations as llama.cpp does. */
    record Gguf(GgufTokenizer tokenizer, String source) implements ModelTokenizer {

        @Override
        public int vocabSize() {
            return tokenizer.vocabSize();
        }

        @Override
        public byte[] tokenBytes(int id) {
            io.tandem.model.tokenizer.TokenType type = tokenizer.tokenType(id);
            if (type == io.tandem.model.tokenizer.TokenType.CONTROL || type == io.tandem.model.tokenizer.TokenType.UNKNOWN
                    || type == io.tandem.model.tokenizer.TokenType.UNUSED || tokenizer.isEndOfGeneration(id)) {
                return null;
            }
            return tokenizer.pieceBytes(id, false);
        }

        /**
         * BOS when {@code tokenizer.ggml.add_bos_token} says so. An empty prompt of a model that adds no BOS
         * (Qwen2) still needs one token to start from: its BOS id, as llama.cpp does.
         */
        @Override
        public int[] encodePrompt(String text) {
            return nonEmpty(tokenizer.encode(text, true, false));
        }

        @Override
        public int[] encodeChatPrompt(String rendered) {
            int[] ids = tokenizer.encode(rendered, true, true);
            int bos = tokenizer.specialTokens().bos();
            if (ids.length >= 2 && tokenizer.specialTokens().addBos() && ids[0] == bos && ids[1] == bos) {
                // the template wrote {{ bos_token }} and the vocabulary adds one too: keep one, as llama.cpp does
                ids = Arrays.copyOfRange(ids, 1, ids.length);
            }
            return nonEmpty(ids);
        }

        private int[] nonEmpty(int[] ids) {
            if (ids.length > 0) {
                return ids;
            }
            int bos = tokenizer.specialTokens().bos();
            if (bos == SpecialTokens.NONE) {
                throw new IllegalArgumentException("the prompt is empty and " + source
                        + " has no BOS token to start from: give some text");
            }
            return new int[] {bos};
        }

        @Override
        public TokenText tokenText() {
            return streams(tokenizer::textStream);
        }

        /** EOS, EOT, EOM and the end-of-turn texts llama.cpp stops at. */
        @Override
        public Set<Integer> endTokens() {
            return tokenizer.endOfGenerationIds();
        }

        @Override
        public Optional<String> chatTemplateSource() {
            return tokenizer.chatTemplate();
        }

        /** As the interface's, with a template that does not compile reported as a fault of this file's metadata. */
        @Override
        public ChatTemplate chatTemplate() {
            try {
                return ModelTokenizer.super.chatTemplate();
            } catch (ChatTemplateException e) {
                throw new GgufException(GgufException.Problem.UNSUPPORTED, source,
                        "metadata key '" + ChatTemplates.GGUF_METADATA_KEY + "': " + e.getMessage());
            }
        }

        @Override
        public String bosText() {
            int bos = tokenizer.specialTokens().bos();
            return bos == SpecialTokens.NONE ? null : tokenizer.piece(bos);
        }

        @Override
        public String eosText() {
            int eos = tokenizer.specialTokens().eos();
            return eos == SpecialTokens.NONE ? null : tokenizer.piece(eos);
        }
    }

    /** Adapts a tokenizer's {@link TextStream} factory to the generation loop's {@link TokenText}. */
    private static TokenText streams(java.util.function.IntFunction<TextStream> open) {
        return previous -> {
            TextStream stream = open.apply(previous);
            return new TokenText.Stream() {
                @Override
                public String feed(int token) {
                    return stream.feed(token);
                }

                @Override
                public String flush() {
                    return stream.flush();
                }
            };
        };
    }
}
