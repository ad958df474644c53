package io.tandem.model.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The tokenizers against llama.cpp's own conformance vectors (../shared/models/llamacpp-vocab): every
 * input must encode to exactly the ids llama.cpp expects, and those ids must decode back to the input.
 */
class GgufTokenizerVocabTest {

    private static final String LLAMA_SPM = "llamacpp-vocab/ggml-vocab-llama-spm.gguf";
    private static final String GPT2 = "llamacpp-vocab/ggml-vocab-gpt-2.gguf";

    @TestFactory
    Stream<DynamicTest> llamaSpmEncodesAsLlamaCpp() throws IOException {
        return encodeTests(LLAMA_SPM);
    }

    @TestFactory
    Stream<DynamicTest> gpt2EncodesAsLlamaCpp() throws IOException {
        return encodeTests(GPT2);
    }

    @TestFactory
    Stream<DynamicTest> llamaSpmDecodesTheExpectedIdsToTheInput() throws IOException {
        return decodeTests(LLAMA_SPM);
    }

    @TestFactory
    Stream<DynamicTest> gpt2DecodesTheExpectedIdsToTheInput() throws IOException {
        return decodeTests(GPT2);
    }

    private static Stream<DynamicTest> encodeTests(String file) throws IOException {
        Path gguf = SharedModels.require(file);
        GgufTokenizer tokenizer = GgufTokenizer.load(gguf);
        return LlamaCppVocabVectors.read(gguf).cases().stream().map(c -> dynamicTest(LlamaCppVocabVectors.label(c), () -> {
            int[] ids = tokenizer.encode(c.input(), false, false);
            assertThat(ids).as("ids of %s, expected pieces %s, got %s", LlamaCppVocabVectors.label(c),
                    pieces(tokenizer, c.expected()), pieces(tokenizer, ids)).containsExactly(c.expected());
        }));
    }

    private static Stream<DynamicTest> decodeTests(String file) throws IOException {
        Path gguf = SharedModels.require(file);
        GgufTokenizer tokenizer = GgufTokenizer.load(gguf);
        return LlamaCppVocabVectors.read(gguf).cases().stream().map(c -> dynamicTest(LlamaCppVocabVectors.label(c), () ->
                assertThat(new String(tokenizer.decodeBytes(c.expected(), false), StandardCharsets.UTF_8))
                        .isEqualTo(c.input())));
    }

    private static String pieces(GgufTokenizer tokenizer, int[] ids) {
        return Arrays.toString(Arrays.stream(ids).mapToObj(tokenizer::piece).toArray());
    }
}
