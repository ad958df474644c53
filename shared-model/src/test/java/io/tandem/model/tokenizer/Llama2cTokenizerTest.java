package io.tandem.model.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class Llama2cTokenizerTest {

    private static final Llama2cTokenizer TOK512 = Llama2cTokenizer.embedded();

    private static byte[] embeddedBytes() {
        try (InputStream in = Llama2cTokenizer.class.getResourceAsStream(Llama2cTokenizer.EMBEDDED_RESOURCE)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes a tokenizer.bin: max_token_length, then score, length, bytes per piece. */
    static byte[] tokenizerFile(int maxTokenLength, List<String> pieces, float[] scores) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer four = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        out.writeBytes(four.putInt(0, maxTokenLength).array());
        for (int i = 0; i < pieces.size(); i++) {
            byte[] bytes = pieces.get(i).getBytes(StandardCharsets.UTF_8);
            out.writeBytes(four.putFloat(0, scores[i]).array());
            out.writeBytes(four.putInt(0, bytes.length).array());
            out.writeBytes(bytes);
        }
        return out.toByteArray();
    }

    // ---------------------------------------------------------------- vocabulary

    @Test
    void embeddedTok512HasTheLlama2cLayout() {
        assertThat(TOK512.vocabSize()).isEqualTo(512);
        assertThat(TOK512.maxTokenLength()).isEqualTo(7);
        assertThat(TOK512.bosId()).isEqualTo(1);
        assertThat(TOK512.eosId()).isEqualTo(2);
        assertThat(TOK512.piece(0)).isEqualTo("<unk>");
        assertThat(TOK512.piece(1)).isEqualTo("\n<s>\n");
        assertThat(TOK512.piece(2)).isEqualTo("\n</s>\n");
        assertThat(TOK512.piece(3)).isEqualTo("<0x00>");
        assertThat(TOK512.piece(258)).isEqualTo("<0xFF>");
        assertThat(TOK512.idOf(" ")).isEqualTo(410);
        assertThat(TOK512.idOf("no such piece")).isEqualTo(-1);
        assertThat(TOK512.source()).contains("tok512.bin");
        assertThatThrownBy(() -> TOK512.piece(512)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> TOK512.piece(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void pathAndStreamLoadTheSameVocabulary(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("tok512.bin");
        Files.write(file, embeddedBytes());

        Llama2cTokenizer fromPath = Llama2cTokenizer.load(file);
        Llama2cTokenizer fromStream = Llama2cTokenizer.load(new ByteArrayInputStream(embeddedBytes()), "stream");

        assertThat(fromPath.source()).isEqualTo(file.toString());
        for (int id = 0; id < 512; id++) {
            assertThat(fromPath.piece(id)).isEqualTo(TOK512.piece(id));
            assertThat(fromStream.score(id)).isEqualTo(TOK512.score(id));
        }
    }

    // ---------------------------------------------------------------- encoding

    @Test
    void emptyTextHasNoDummyPrefix() {
        assertThat(TOK512.encode("", false, false)).isEmpty();
        assertThat(TOK512.encode("", true, true)).containsExactly(1, 2);
    }

    @Test
    void charactersMissingFromTheVocabularyFallBackToTheirBytes() {
        // 🙂 is F0 9F 99 82: four raw-byte tokens, byte value + 3
        int[] ids = TOK512.encode("🙂", false, false);
        assertThat(ids).containsExactly(410, 0xF0 + 3, 0x9F + 3, 0x99 + 3, 0x82 + 3);
    }

    @Test
    void mergesTheBestScoringPairFirstAndTheLeftmostOnTies() {
        // a toy vocabulary where the order of merges decides the result
        List<String> pieces = new ArrayList<>(List.of("<unk>", "\n<s>\n", "\n</s>\n"));
        for (int b = 0; b < 256; b++) {
            pieces.add(String.format("<0x%02X>", b));
        }
        int base = pieces.size();
        pieces.addAll(List.of(" ", "a", "b", "ab", "ba", "aba", " a"));
        float[] scores = new float[pieces.size()];
        scores[base + 3] = -1f; // ab
        scores[base + 4] = -1f; // ba: ties with ab, so in "aba" the left pair (ab) merges first
        scores[base + 5] = -5f; // aba
        scores[base + 6] = -2f; // " a"
        Llama2cTokenizer toy = Llama2cTokenizer.parse(tokenizerFile(6, pieces, scores), "toy");
        int space = base;
        int a = base + 1;
        int ab = base + 3;
        int aba = base + 5;
        int spaceA = base + 6;

        // " aba": pairs " a"(-2), ab(-1), ba(-1): ab wins as the leftmost of the best, then " a"+"b" does
        // not exist, ab+a = aba (-5) vs " "+ab: none -> aba
        assertThat(toy.encode("aba", false, false)).containsExactly(space, aba);
        // " ab": " a"(-2) vs ab(-1): ab first, leaving " " + ab
        assertThat(toy.encode("ab", false, false)).containsExactly(space, ab);
        // " a": the only pair
        assertThat(toy.encode("a", false, false)).containsExactly(spaceA);
        // unknown characters still fall back to bytes
        assertThat(toy.encode("ac", false, false)).containsExactly(spaceA, 'c' + 3);
        assertThat(a).isEqualTo(toy.idOf("a"));
    }

    @Test
    void pairsScoringBelowRunCsStartingScoreNeverMerge() {
        List<String> pieces = new ArrayList<>(List.of("<unk>", "\n<s>\n", "\n</s>\n", " ", "x", " x"));
        float[] scores = {0, 0, 0, 0, 0, -2e10f};
        Llama2cTokenizer toy = Llama2cTokenizer.parse(tokenizerFile(6, pieces, scores), "toy");
        assertThat(toy.encode("x", false, false)).containsExactly(3, 4);
    }

    @Test
    void encodesLongTextsQuickly() {
        String text = "Once upon a time, there was a little girl named Lily. 日本語 🙂 ".repeat(200);
        long start = System.nanoTime();
        int[] ids = TOK512.encode(text, true, false);
        long millis = (System.nanoTime() - start) / 1_000_000;
        assertThat(TOK512.decode(Llama2cTokenizer.BOS_ID, Arrays.copyOfRange(ids, 1, ids.length))).isEqualTo(text);
        assertThat(millis).as("encode of %d chars took %d ms", text.length(), millis).isLessThan(5_000);
    }

    // ---------------------------------------------------------------- decoding

    @Test
    void decodeStripsTheLeadingSpaceOnlyAfterBos() {
        int spaceA = TOK512.idOf(" a");
        assertThat(spaceA).isPositive();
        assertThat(TOK512.decode(Llama2cTokenizer.BOS_ID, spaceA)).isEqualTo("a");
        assertThat(TOK512.decode(spaceA, spaceA)).isEqualTo(" a");
        assertThat(TOK512.decode(Llama2cTokenizer.EOS_ID, spaceA)).isEqualTo(" a");
    }

    @Test
    void decodeTurnsRawByteTokensIntoTheirByte() {
        assertThat(TOK512.decodeBytes(5, 0x41 + 3)).containsExactly(0x41);
        assertThat(TOK512.decode(5, 13)).isEqualTo("\n");
        assertThat(TOK512.decodeBytes(Llama2cTokenizer.BOS_ID, 0xE6 + 3)).containsExactly((byte) 0xE6);
        // a lone lead byte is not text on its own
        assertThat(TOK512.decode(5, 0xE6 + 3)).isEqualTo("\uFFFD");
        // a raw space after BOS is not stripped: run.c strips only pieces that start with ' '
        assertThat(TOK512.decode(Llama2cTokenizer.BOS_ID, 0x20 + 3)).isEqualTo(" ");
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "a", "Hello world", " leading space", "trailing space ", "two  spaces", "new\nline\n", "tabs\tand\ttext",
        "café naïve", "日本語", "emoji 🙂 ok 👍🏽", "ÿþ bytes", "<s> not special </s>", "<0x41> is not A",
        "Ünïcödé ßtraße — “quotes” …", "mixed 中文 and English, numbers 12345.", "\u0000nul", "\r\n"})
    void decodeOfEncodeGivesTheTextBack(String text) {
        int[] ids = TOK512.encode(text, true, false);
        int[] afterBos = Arrays.copyOfRange(ids, 1, ids.length);
        assertThat(TOK512.decode(Llama2cTokenizer.BOS_ID, afterBos)).isEqualTo(text);

        TextStream stream = TOK512.textStream(Llama2cTokenizer.BOS_ID);
        StringBuilder streamed = new StringBuilder();
        for (int id : afterBos) {
            String part = stream.feed(id);
            assertThat(part).as("no half characters while streaming").doesNotContain("\uFFFD");
            streamed.append(part);
        }
        streamed.append(stream.flush());
        assertThat(streamed.toString()).isEqualTo(text);
    }

    @Test
    void streamingHoldsBackSplitCharactersUntilTheyComplete() {
        // 語 is E8 AA 9E, three raw-byte tokens in tok512
        TextStream stream = TOK512.textStream(Llama2cTokenizer.BOS_ID);
        assertThat(stream.feed(0xE8 + 3)).isEmpty();
        assertThat(stream.feed(0xAA + 3)).isEmpty();
        assertThat(stream.feed(0x9E + 3)).isEqualTo("語");
        assertThat(stream.previousToken()).isEqualTo(0x9E + 3);
        assertThat(stream.feed(TOK512.idOf(" a"))).isEqualTo(" a");
        // an unfinished character at the end comes out as U+FFFD on flush, as in whole-sequence decoding
        assertThat(stream.feed(0xE8 + 3)).isEmpty();
        assertThat(stream.flush()).isEqualTo("\uFFFD");
        assertThat(stream.flush()).isEmpty();
    }

    @Test
    void streamingEqualsBatchDecodingEvenForInvalidUtf8() {
        Random random = new Random(42);
        for (int round = 0; round < 500; round++) {
            int[] ids = new int[1 + random.nextInt(30)];
            for (int i = 0; i < ids.length; i++) {
                // mostly raw bytes (split and broken characters), some ordinary pieces
                ids[i] = random.nextInt(4) == 0 ? random.nextInt(512) : 3 + random.nextInt(256);
            }
            int prev = random.nextBoolean() ? Llama2cTokenizer.BOS_ID : 100;
            String batch = TOK512.decode(prev, ids);
            TextStream stream = TOK512.textStream(prev);
            StringBuilder streamed = new StringBuilder();
            for (int id : ids) {
                streamed.append(stream.feed(id));
            }
            streamed.append(stream.flush());
            assertThat(streamed.toString()).as("ids %s after %d", Arrays.toString(ids), prev).isEqualTo(batch);
        }
    }

    // ---------------------------------------------------------------- bad files

    /** Cuts inside the header, inside an entry's score and length, and inside pieces (a cut between entries
     * leaves a valid smaller vocabulary, which {@link Llama2cTokenizer#requireVocabSize} catches). */
    @ParameterizedTest
    @ValueSource(ints = {0, 3, 9, 11, 101, 6226})
    void aTruncatedFileNamesTheFileAndWhereItEnds(int length) {
        byte[] cut = Arrays.copyOf(embeddedBytes(), length);
        assertThatThrownBy(() -> Llama2cTokenizer.parse(cut, "cut-tok512.bin"))
                .isInstanceOfSatisfying(TokenizerException.class, e -> {
                    assertThat(e.problem()).isEqualTo(TokenizerException.Problem.TRUNCATED);
                    assertThat(e.source()).isEqualTo("cut-tok512.bin");
                    assertThat(e.getMessage()).startsWith("cut-tok512.bin: ").contains(String.valueOf(length));
                    if (length >= 4) {
                        assertThat(e.getMessage()).containsPattern("token \\d+");
                    }
                });
    }

    @Test
    void aTruncatedFileOnDiskNamesThePath(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("broken.bin");
        Files.write(file, Arrays.copyOf(embeddedBytes(), 2000));
        assertThatThrownBy(() -> Llama2cTokenizer.load(file))
                .isInstanceOf(TokenizerException.class)
                .hasMessageStartingWith(file + ": ")
                .hasMessageContaining("ends at byte 2000");
    }

    @Test
    void aNegativeLengthIsMalformedAndSaysWhere() {
        byte[] bytes = embeddedBytes();
        // token 0 starts at byte 4: score at 4, length at 8
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(8, -5);
        assertThatThrownBy(() -> Llama2cTokenizer.parse(bytes, "neg.bin"))
                .isInstanceOfSatisfying(TokenizerException.class, e -> {
                    assertThat(e.problem()).isEqualTo(TokenizerException.Problem.MALFORMED);
                    assertThat(e.getMessage()).isEqualTo("neg.bin: token 0: negative piece length -5 at byte 8");
                });
    }

    @Test
    void aPieceLongerThanTheDeclaredMaximumIsMalformed() {
        byte[] bytes = tokenizerFile(2, List.of("<unk>"), new float[1]);
        assertThatThrownBy(() -> Llama2cTokenizer.parse(bytes, "long.bin"))
                .isInstanceOf(TokenizerException.class)
                .hasMessageContaining("piece length 5")
                .hasMessageContaining("max_token_length 2");
    }

    @Test
    void aFileWithoutTokensOrWithABadHeaderIsMalformed() {
        byte[] noTokens = tokenizerFile(7, List.of(), new float[0]);
        assertThatThrownBy(() -> Llama2cTokenizer.parse(noTokens, "empty.bin"))
                .isInstanceOf(TokenizerException.class).hasMessage("empty.bin: holds no tokens");
        byte[] zeroMax = tokenizerFile(0, List.of("a"), new float[1]);
        assertThatThrownBy(() -> Llama2cTokenizer.parse(zeroMax, "zero.bin"))
                .isInstanceOf(TokenizerException.class).hasMessageContaining("max_token_length at byte 0 is 0");
    }

    @Test
    void aVocabularyMismatchNamesBothSizesAndTheFile() {
        TOK512.requireVocabSize(512);
        assertThatThrownBy(() -> TOK512.requireVocabSize(32000))
                .isInstanceOfSatisfying(TokenizerException.class, e -> {
                    assertThat(e.problem()).isEqualTo(TokenizerException.Problem.VOCABULARY_MISMATCH);
                    assertThat(e.getMessage())
                            .contains("tok512.bin")
                            .contains("512")
                            .contains("32000");
                });
    }

    @Test
    void theLlama2TokenizerLoadsFromSharedModels() throws IOException {
        Llama2cTokenizer llama2 = Llama2cTokenizer.load(SharedModels.require("llama2-tokenizer/tokenizer.bin"));
        assertThat(llama2.vocabSize()).isEqualTo(32000);
        assertThat(llama2.maxTokenLength()).isEqualTo(27);
        llama2.requireVocabSize(32000);
        assertThat(llama2.encode("Hello world", true, false)).containsExactly(1, 15043, 3186);
        for (String text : List.of("Hello world", " leading", "café naïve 日本語 🙂 👍🏽", "tabs\tand\nlines ", "ÿþ")) {
            int[] ids = llama2.encode(text, false, false);
            assertThat(llama2.decode(Llama2cTokenizer.BOS_ID, ids)).isEqualTo(text);
        }
    }
}
