package io.tandem.model.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.model.gguf.GgufFile;
import io.tandem.model.gguf.GgufMetadata;
import io.tandem.model.gguf.GgufValue;
import java.io.IOException;
import java.nio.file.Path;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Flags, special tokens and metadata handling of the GGUF tokenizers. Expected ids come from llama.cpp's
 * vectors (../shared/models/llamacpp-vocab) and from how llama.cpp composes them: BOS in front, special
 * tokens as fragments of their own, the space prefix after each special token.
 */
class GgufTokenizerTest {

    private static GgufMetadata spmMetadata;
    private static GgufMetadata gpt2Metadata;
    private static GgufTokenizer spm;
    private static GgufTokenizer gpt2;
    private static LlamaCppVocabVectors spmVectors;
    private static LlamaCppVocabVectors gpt2Vectors;

    @BeforeAll
    static void load() throws IOException {
        Path spmFile = SharedModels.require("llamacpp-vocab/ggml-vocab-llama-spm.gguf");
        Path gpt2File = SharedModels.require("llamacpp-vocab/ggml-vocab-gpt-2.gguf");
        try (GgufFile file = GgufFile.open(spmFile)) {
            spmMetadata = file.metadata();
        }
        try (GgufFile file = GgufFile.open(gpt2File)) {
            gpt2Metadata = file.metadata();
        }
        spm = GgufTokenizer.fromMetadata(spmMetadata);
        gpt2 = GgufTokenizer.fromMetadata(gpt2Metadata);
        spmVectors = LlamaCppVocabVectors.read(spmFile);
        gpt2Vectors = LlamaCppVocabVectors.read(gpt2File);
    }

    private static int[] concat(int[]... parts) {
        return java.util.Arrays.stream(parts).flatMapToInt(IntStream::of).toArray();
    }

    private static int[] expected(LlamaCppVocabVectors vectors, String input) {
        return vectors.cases().stream().filter(c -> c.input().equals(input)).findFirst().orElseThrow().expected();
    }

    // ---------------------------------------------------------------- vocabulary and special tokens

    @Test
    void readsTheVocabularyAndSpecialIdsFromMetadata() {
        assertThat(spm).isInstanceOf(SpmTokenizer.class);
        assertThat(spm.vocabSize()).isEqualTo(32000);
        assertThat(spm.piece(1)).isEqualTo("<s>");
        assertThat(spm.tokenType(1)).isEqualTo(TokenType.CONTROL);
        assertThat(spm.tokenType(0)).isEqualTo(TokenType.UNKNOWN);
        assertThat(spm.tokenType(3)).isEqualTo(TokenType.BYTE);
        assertThat(spm.idOf("<0x0A>")).isEqualTo(13);
        assertThat(spm.specialTokens()).isEqualTo(new SpecialTokens(1, 2, -1, -1, 0, -1, true, false));
        assertThat(spm.endOfGenerationIds()).containsExactly(2);
        assertThat(spm.chatTemplate()).isEmpty();

        assertThat(gpt2).isInstanceOf(BpeTokenizer.class);
        assertThat(((BpeTokenizer) gpt2).preTokenizer()).isEqualTo(PreTokenizer.GPT2);
        assertThat(gpt2.vocabSize()).isEqualTo(50257);
        assertThat(gpt2.piece(50256)).isEqualTo("<|endoftext|>");
        // the file sets bos = eos = 50256 and no add_bos: llama.cpp's BPE default of no BOS applies
        assertThat(gpt2.specialTokens()).isEqualTo(new SpecialTokens(50256, 50256, 50256, -1, -1, -1, false, false));
        assertThat(gpt2.isEndOfGeneration(50256)).isTrue();
    }

    @Test
    void addSpecialPutsBosInFrontWhenTheVocabularyAsks() {
        for (LlamaCppVocabVectors.Case c : spmVectors.cases()) {
            assertThat(spm.encode(c.input(), true, false)).as(LlamaCppVocabVectors.label(c))
                    .containsExactly(concat(new int[] {1}, c.expected()));
        }
        for (LlamaCppVocabVectors.Case c : gpt2Vectors.cases()) {
            assertThat(gpt2.encode(c.input(), true, false)).as(LlamaCppVocabVectors.label(c)).containsExactly(c.expected());
        }
        GgufTokenizer withEos = GgufTokenizer.fromMetadata(spmMetadata.with("tokenizer.ggml.add_eos_token", GgufValue.bool(true)));
        assertThat(withEos.encode("Hello world")).containsExactly(concat(new int[] {1}, expected(spmVectors, "Hello world"), new int[] {2}));
    }

    @Test
    void withoutTheSpacePrefixALeadingSpaceDoesItsJob() {
        GgufTokenizer noPrefix = GgufTokenizer.fromMetadata(spmMetadata.with("tokenizer.ggml.add_space_prefix", GgufValue.bool(false)));
        // the prefix is a ▁ before the text, so " " + text without it must give what text gives with it
        for (LlamaCppVocabVectors.Case c : spmVectors.cases()) {
            if (!c.input().isEmpty()) {
                assertThat(noPrefix.encode(" " + c.input(), false, false)).as(LlamaCppVocabVectors.label(c))
                        .containsExactly(c.expected());
            }
        }
    }

    @Test
    void controlTokensAreParsedOnlyWhenAskedFor() {
        int[] hello = expected(spmVectors, "Hello");
        // a special token is a fragment of its own, and the text after it gets the space prefix again
        assertThat(spm.encode("Hello</s>Hello", false, true)).containsExactly(concat(hello, new int[] {2}, hello));
        assertThat(spm.encode("</s>", false, true)).containsExactly(2);
        // parsed as text, "</s>" is not token 2
        assertThat(spm.encode("Hello</s>world", false, false)).doesNotContain(2);
        assertThat(spm.decode(spm.encode("Hello</s>world", false, false))).isEqualTo("Hello</s>world");

        int[] a = expected(gpt2Vectors, "Hello world");
        int[] b = expected(gpt2Vectors, " Hello world");
        assertThat(gpt2.encode("Hello world<|endoftext|> Hello world", false, true)).containsExactly(concat(a, new int[] {50256}, b));
        assertThat(gpt2.encode("<|endoftext|>", false, false)).doesNotContain(50256);
    }

    @Test
    void userDefinedTokensAlwaysMatchAsAWhole() {
        // mark a multi-character piece USER_DEFINED: it is cut out of text even without parseSpecial
        int id = gpt2.idOf("Hello");
        int[] types = gpt2Metadata.getIntArray("tokenizer.ggml.token_type");
        types[id] = TokenType.USER_DEFINED.ordinal();
        GgufTokenizer tokenizer = GgufTokenizer.fromMetadata(gpt2Metadata.with("tokenizer.ggml.token_type", GgufValue.int32s(types)));
        assertThat(tokenizer.encode("xHelloy", false, false))
                .containsExactly(concat(gpt2.encode("x", false, false), new int[] {id}, gpt2.encode("y", false, false)));
    }

    // ---------------------------------------------------------------- decoding

    @Test
    void decodingHidesControlTokensAndTheSpacePrefix() {
        for (LlamaCppVocabVectors.Case c : spmVectors.cases()) {
            assertThat(spm.decode(spm.encode(c.input()))).as(LlamaCppVocabVectors.label(c)).isEqualTo(c.input());
        }
        assertThat(new String(spm.decodeBytes(new int[] {1, 15043, 2}, true), java.nio.charset.StandardCharsets.UTF_8))
                .isEqualTo("<s>Hello</s>");
        assertThat(spm.pieceBytes(15043, false)).isEqualTo(" Hello".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertThat(spm.pieceBytes(13, false)).containsExactly('\n');
        assertThat(gpt2.decode(new int[] {50256})).isEmpty();
        assertThat(gpt2.pieceBytes(50256, true)).isEqualTo("<|endoftext|>".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void randomTextRoundTrips() {
        java.util.Random random = new java.util.Random(7);
        String alphabet = "abc xyz ÄÖü 中文 🦙 \n\t  !?.,'s 123 ";
        int[] cps = alphabet.codePoints().toArray();
        for (int i = 0; i < 2_000; i++) {
            StringBuilder text = new StringBuilder();
            for (int n = random.nextInt(30); n > 0; n--) {
                text.appendCodePoint(cps[random.nextInt(cps.length)]);
            }
            String s = text.toString();
            assertThat(spm.decode(spm.encode(s))).isEqualTo(s);
            assertThat(gpt2.decode(gpt2.encode(s))).isEqualTo(s);
        }
    }

    // ---------------------------------------------------------------- other files and errors

    @Test
    void theTinyRandomModelCarriesTheLlama2Vocabulary() throws IOException {
        GgufTokenizer tiny = GgufTokenizer.load(SharedModels.require("llama-2-tiny-random/llama-2-tiny-random.gguf"));
        assertThat(tiny.vocabSize()).isEqualTo(32000);
        for (LlamaCppVocabVectors.Case c : spmVectors.cases()) {
            assertThat(tiny.encode(c.input(), false, false)).as(LlamaCppVocabVectors.label(c)).containsExactly(c.expected());
        }
    }

    @Test
    void chatTemplateComesFromMetadata() {
        String template = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}";
        GgufTokenizer tokenizer = GgufTokenizer.fromMetadata(gpt2Metadata.with("tokenizer.chat_template", GgufValue.string(template)));
        assertThat(tokenizer.chatTemplate()).contains(template);
    }

    @Test
    void preTokenizersAreChosenByName() {
        GgufTokenizer llama3 = GgufTokenizer.fromMetadata(gpt2Metadata.with("tokenizer.ggml.pre", GgufValue.string("llama-bpe")));
        assertThat(((BpeTokenizer) llama3).preTokenizer()).isEqualTo(PreTokenizer.LLAMA3);
        // llama.cpp assumes add_bos for llama3 vocabularies that do not say
        assertThat(llama3.specialTokens().addBos()).isTrue();
        assertThat(llama3.encode("Hello")[0]).isEqualTo(50256);
        GgufTokenizer qwen2 = GgufTokenizer.fromMetadata(gpt2Metadata.with("tokenizer.ggml.pre", GgufValue.string("qwen2")));
        // digits one by one: the ids of "1", "2", "3"
        assertThat(qwen2.encode("123", false, false)).containsExactly(gpt2.idOf("1"), gpt2.idOf("2"), gpt2.idOf("3"));
        GgufTokenizer fallback = GgufTokenizer.fromMetadata(gpt2Metadata.without("tokenizer.ggml.pre"));
        assertThat(((BpeTokenizer) fallback).preTokenizer()).isEqualTo(PreTokenizer.DEFAULT);
    }

    @Test
    void unsupportedTokenizersFailNamingTheKey() {
        assertThatThrownBy(() -> GgufTokenizer.fromMetadata(gpt2Metadata.with("tokenizer.ggml.model", GgufValue.string("bert"))))
                .isInstanceOf(TokenizerException.class).hasMessageContaining("tokenizer.ggml.model").hasMessageContaining("'bert'");
        assertThatThrownBy(() -> GgufTokenizer.fromMetadata(gpt2Metadata.with("tokenizer.ggml.pre", GgufValue.string("tekken"))))
                .isInstanceOf(TokenizerException.class).hasMessageContaining("tokenizer.ggml.pre").hasMessageContaining("'tekken'");
        assertThatThrownBy(() -> GgufTokenizer.fromMetadata(gpt2Metadata.without("tokenizer.ggml.merges")))
                .hasMessageContaining("tokenizer.ggml.merges");
        assertThatThrownBy(() -> GgufTokenizer.fromMetadata(spmMetadata.with("tokenizer.ggml.scores", GgufValue.float32s(1f, 2f))))
                .isInstanceOf(TokenizerException.class).hasMessageContaining("tokenizer.ggml.scores has 2 entries for 32000 tokens");
        assertThatThrownBy(() -> GgufTokenizer.fromMetadata(spmMetadata.with("tokenizer.ggml.tokens", GgufValue.int32s(1, 2))))
                .hasMessageContaining("tokenizer.ggml.tokens");
        assertThatThrownBy(() -> GgufTokenizer.fromMetadata(GgufMetadata.of("empty", java.util.Map.of())))
                .hasMessageContaining("tokenizer.ggml.model");
        // like SentencePiece: the empty text is nothing, or just BOS when special tokens are added
        assertThat(spm.encode("", false, false)).isEmpty();
        assertThat(spm.encode("")).containsExactly(1);
    }
}
