package io.tandem.model.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Streaming generated ids of a GGUF vocabulary gives the text the whole-sequence decode gives, one whole
 * character at a time, even where byte tokens split a character.
 */
class GgufTextStreamTest {

    static final String TEXT = "Hello world, café 日本語 🙂 ok\nnew line";

    @ParameterizedTest
    @ValueSource(strings = {"llamacpp-vocab/ggml-vocab-llama-spm.gguf", "llamacpp-vocab/ggml-vocab-gpt-2.gguf"})
    void streamedTextIsTheDecodedText(String vocabulary) throws IOException {
        GgufTokenizer tokenizer = GgufTokenizer.load(SharedModels.require(vocabulary));
        int[] ids = tokenizer.encode(TEXT, false, false);
        int bos = tokenizer.specialTokens().bos();
        // as generated after a BOS prompt: the SentencePiece prefix space goes, as decode drops it at the start
        TextStream stream = tokenizer.textStream(bos);
        StringBuilder streamed = new StringBuilder();
        for (int id : ids) {
            String piece = stream.feed(id);
            assertThat(piece.codePoints().allMatch(c -> c != 0xFFFD)).as("no broken character in %s", piece).isTrue();
            streamed.append(piece);
        }
        streamed.append(stream.flush());
        assertThat(streamed.toString()).isEqualTo(tokenizer.decode(ids)).isEqualTo(TEXT);
        // the emoji and the CJK characters take byte tokens in the SentencePiece vocabulary: several ids per character
        assertThat(ids.length).isGreaterThan(TEXT.split(" ").length);
        assertThat(Arrays.stream(ids).allMatch(id -> id >= 0)).isTrue();
    }
}
