package io.tandem.model.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Our encoder and decoder against outputs of llama2.c's run.c itself. */
class Llama2cGoldenTest {

    private static final String ENCODE_GOLDEN = "/io/tandem/model/golden/llama2c-encode.txt";
    private static final String PROMPTS_GOLDEN = "/io/tandem/model/golden/llama2c-greedy-prompts.txt";

    /** One block of a golden file: its {@code key=value} lines. */
    record Block(Map<String, String> fields) {

        String get(String key) {
            String value = fields.get(key);
            if (value == null) {
                throw new IllegalStateException("golden block " + fields + " has no " + key);
            }
            return value;
        }

        int[] ids() {
            return Arrays.stream(get("ids").trim().split("\\s+")).mapToInt(Integer::parseInt).toArray();
        }
    }

    static List<Block> blocks(String resource) {
        String content;
        try (InputStream in = Llama2cGoldenTest.class.getResourceAsStream(resource)) {
            assertThat(in).as("test resource " + resource).isNotNull();
            content = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<Block> blocks = new ArrayList<>();
        Map<String, String> current = new HashMap<>();
        for (String line : content.split("\n", -1)) {
            if (line.startsWith("#")) {
                continue;
            }
            if (line.isEmpty()) {
                if (!current.isEmpty()) {
                    blocks.add(new Block(current));
                    current = new HashMap<>();
                }
                continue;
            }
            int eq = line.indexOf('=');
            current.put(line.substring(0, eq), line.substring(eq + 1));
        }
        if (!current.isEmpty()) {
            blocks.add(new Block(current));
        }
        return blocks;
    }

    /** The golden's escapes: a two-character \n or \t stands for the control character (no other backslashes). */
    static String unescape(String text) {
        return text.replace("\\n", "\n").replace("\\t", "\t");
    }

    static Stream<Arguments> encodeGoldens() {
        return blocks(ENCODE_GOLDEN).stream()
                .map(block -> Arguments.of(block.get("tokenizer"), unescape(block.get("text")), block.ids()));
    }

    private static final Map<String, Llama2cTokenizer> TOKENIZERS = new HashMap<>();

    static synchronized Llama2cTokenizer tokenizer(String name) throws IOException {
        if (name.equals("tok512")) {
            return Llama2cTokenizer.embedded();
        }
        assertThat(name).isEqualTo("llama2");
        Path file = SharedModels.require("llama2-tokenizer/tokenizer.bin");
        Llama2cTokenizer cached = TOKENIZERS.get(name);
        if (cached == null) {
            cached = Llama2cTokenizer.load(file);
            TOKENIZERS.put(name, cached);
        }
        return cached;
    }

    @Test
    void theGoldenFileCoversBothTokenizers() {
        List<Block> blocks = blocks(ENCODE_GOLDEN);
        assertThat(blocks).hasSizeGreaterThanOrEqualTo(28);
        assertThat(blocks).extracting(b -> b.get("tokenizer")).contains("tok512", "llama2");
    }

    @ParameterizedTest(name = "[{index}] {0}: \"{1}\"")
    @MethodSource("encodeGoldens")
    void encodesLikeRunC(String tokenizerName, String text, int[] expectedIds) throws IOException {
        Llama2cTokenizer tokenizer = tokenizer(tokenizerName);

        assertThat(tokenizer.encode(text, true, false)).as("encode(%s)", text).containsExactly(expectedIds);
        // the same text without BOS, and with EOS, only drops or adds the ends
        int[] withoutBos = Arrays.copyOfRange(expectedIds, 1, expectedIds.length);
        assertThat(tokenizer.encode(text, false, false)).containsExactly(withoutBos);
        int[] withEos = Arrays.copyOf(expectedIds, expectedIds.length + 1);
        withEos[expectedIds.length] = Llama2cTokenizer.EOS_ID;
        assertThat(tokenizer.encode(text, true, true)).containsExactly(withEos);
    }

    @ParameterizedTest(name = "[{index}] {0}: \"{1}\"")
    @MethodSource("encodeGoldens")
    void decodingTheGoldenIdsGivesTheTextBack(String tokenizerName, String text, int[] expectedIds) throws IOException {
        Llama2cTokenizer tokenizer = tokenizer(tokenizerName);
        int[] afterBos = Arrays.copyOfRange(expectedIds, 1, expectedIds.length);

        assertThat(tokenizer.decode(Llama2cTokenizer.BOS_ID, afterBos)).isEqualTo(text);
    }

    @Test
    void promptsOfTheGreedyGoldenEncodeToTheIdsRunCFedTheModel() {
        Llama2cTokenizer tokenizer = Llama2cTokenizer.embedded();
        List<Block> blocks = blocks(PROMPTS_GOLDEN);
        assertThat(blocks).hasSize(5);
        for (Block block : blocks) {
            String prompt = block.get("prompt");
            int[] ids = block.ids();
            int[] encoded = tokenizer.encode(prompt, true, false);
            assertThat(Arrays.copyOf(ids, encoded.length)).as("run.c ids start with encode(%s)", prompt)
                    .containsExactly(encoded);
            // decoding what run.c saw reproduces the prompt as its printed text begins
            String printed = tokenizer.decode(Llama2cTokenizer.BOS_ID, Arrays.copyOfRange(ids, 1, ids.length));
            assertThat(printed).startsWith(prompt);
        }
    }

    @Test
    void decodesTheStories260kGreedyRunToRunCsPrintedText() throws IOException {
        Path tokensFile = SharedModels.require("stories260K/expected-greedy-256.tokens.txt");
        Path textFile = SharedModels.require("stories260K/expected-greedy-256.txt");
        int[] ids = Arrays.stream(Files.readString(tokensFile).trim().split("\\s+"))
                .mapToInt(Integer::parseInt).toArray();
        byte[] expectedBytes = Files.readAllBytes(textFile);
        // run.c ends generation with printf("\n"); the golden is its output with that newline dropped
        assertThat(expectedBytes[expectedBytes.length - 1]).as("golden ends without a newline").isNotEqualTo((byte) '\n');
        String expected = new String(expectedBytes, StandardCharsets.UTF_8);

        assertThat(ids).hasSize(257);
        assertThat(ids[0]).isEqualTo(Llama2cTokenizer.BOS_ID);
        Llama2cTokenizer tokenizer = Llama2cTokenizer.embedded();
        int[] generated = Arrays.copyOfRange(ids, 1, ids.length);
        // run.c's safe_printf drops single unprintable bytes; none occur here, so plain decoding must match
        for (int i = 0; i < generated.length; i++) {
            byte[] piece = tokenizer.decodeBytes(i == 0 ? ids[0] : generated[i - 1], generated[i]);
            if (piece.length == 1) {
                int b = piece[0] & 0xFF;
                assertThat(b >= 0x20 && b < 0x7F || b == '\n' || b == '\t' || b == '\r').isTrue();
            }
        }

        assertThat(tokenizer.decode(Llama2cTokenizer.BOS_ID, generated)).isEqualTo(expected);

        TextStream stream = tokenizer.textStream(Llama2cTokenizer.BOS_ID);
        StringBuilder streamed = new StringBuilder();
        for (int id : generated) {
            streamed.append(stream.feed(id));
        }
        streamed.append(stream.flush());
        assertThat(streamed.toString()).isEqualTo(expected);
    }
}
