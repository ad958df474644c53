package io.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GenerateCommandTest {

    @TempDir
    Path dir;

    static byte[] embeddedCheckpoint() throws IOException {
        try (InputStream in = GenerateCommandTest.class.getResourceAsStream("/io/tandem/model/embedded/stories260K.bin")) {
            return in.readAllBytes();
        }
    }

    @Test
    void greedyIdsFromBosAreLlama2cs() throws IOException {
        String expected;
        try (InputStream in = GenerateCommandTest.class.getResourceAsStream("/expected-greedy-256.tokens.txt")) {
            expected = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        }
        for (String[] variant : new String[][] {{}, {"--split", "3", "--flavour", "portable"}}) {
            String[] args = concat(new String[] {"generate", "--temperature", "0", "--max-tokens", "256", "--ids"}, variant);
            CliRunner run = CliRunner.run(args);
            assertThat(run.exitCode()).as(run.err()).isZero();
            assertThat(run.out().trim()).isEqualTo(expected);
        }
    }

    @Test
    void streamsThePromptAndItsContinuation() {
        CliRunner run = CliRunner.run("generate", "--prompt", "Once upon a time", "--temperature", "0", "--max-tokens", "12");
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).startsWith("Once upon a time, there was a little girl named Lily.");
        assertThat(run.err()).contains("12 generated tokens").contains("max_tokens");
    }

    @Test
    void seededSamplingIsReproducible() {
        String[] args = {"generate", "--temperature", "0.9", "--top-p", "0.95", "--seed", "7", "--max-tokens", "30", "--ids"};
        CliRunner first = CliRunner.run(args);
        assertThat(first.exitCode()).isZero();
        assertThat(CliRunner.run(args).out()).isEqualTo(first.out());
    }

    @Test
    void splitOutsideTheModelIsAUsageError() {
        for (String k : new String[] {"5", "-1", "9"}) {
            CliRunner run = CliRunner.run("generate", "--split", k);
            assertThat(run.exitCode()).isEqualTo(TandemCli.USAGE);
            assertThat(run.err()).startsWith("tandem generate: --split: split point " + k);
            assertThat(run.out()).isEmpty();
        }
        assertThat(CliRunner.run("generate", "--split", "5").err()).contains("outside 1..4");
    }

    @Test
    void promptLongerThanTheContextIsAUsageError() {
        CliRunner run = CliRunner.run("generate", "--prompt", "dog ".repeat(600));
        assertThat(run.exitCode()).isEqualTo(TandemCli.USAGE);
        assertThat(run.err()).contains("--prompt").contains("context holds 512");
        assertThat(run.out()).isEmpty();
    }

    @Test
    void badValuesNameTheirOption() {
        assertThat(CliRunner.run("generate", "--weights", "int3").err()).contains("--weights").contains("int3");
        assertThat(CliRunner.run("generate", "--flavour", "turbo").err()).contains("--flavour").contains("turbo");
        assertThat(CliRunner.run("generate", "--max-tokens", "0").err()).contains("--max-tokens");
        assertThat(CliRunner.run("generate", "--top-p", "2").err()).contains("top_p");
        assertThat(CliRunner.run("generate", "--providers", "warp").err()).contains("warp");
        assertThat(CliRunner.run("generate", "--max-tokens", "lots").exitCode()).isEqualTo(TandemCli.USAGE);
    }

    @Test
    void truncatedCheckpointNamesTheFile() throws IOException {
        byte[] full = embeddedCheckpoint();
        for (int cut : new int[] {10, 28 + 4 * 1000, full.length - 4}) {
            Path file = dir.resolve("cut-" + cut + ".bin");
            Files.write(file, Arrays.copyOf(full, cut));
            CliRunner run = CliRunner.run("generate", "--model", file.toString(), "--max-tokens", "3");
            assertThat(run.exitCode()).isNotZero();
            assertThat(run.err()).contains(file.getFileName().toString());
            assertThat(run.out()).isEmpty();
        }
    }

    @Test
    void unknownVersionAndMissingFileAreNamed() throws IOException {
        Path file = dir.resolve("v7.bin");
        ByteBuffer header = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
        header.putInt(0x616b3432).putInt(7);
        Files.write(file, header.array());
        CliRunner run = CliRunner.run("generate", "--model", file.toString());
        assertThat(run.exitCode()).isNotZero();
        assertThat(run.err()).contains("v7.bin").contains("7");
        CliRunner missing = CliRunner.run("generate", "--model", dir.resolve("nope.bin").toString());
        assertThat(missing.exitCode()).isNotZero();
        assertThat(missing.err()).contains("nope.bin");
    }

    @Test
    void tokenizerWithAnotherVocabularySizeIsRefused() throws IOException {
        Path model = dir.resolve("stories.bin");
        Files.write(model, embeddedCheckpoint());
        Path tokenizer = dir.resolve("tiny-tokenizer.bin");
        ByteBuffer b = ByteBuffer.allocate(4 + 3 * 9).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(1);
        for (char c : new char[] {'a', 'b', 'c'}) {
            b.putFloat(0f).putInt(1).put((byte) c);
        }
        Files.write(tokenizer, b.array());
        CliRunner run = CliRunner.run("generate", "--model", model.toString(), "--tokenizer", tokenizer.toString());
        assertThat(run.exitCode()).isNotZero();
        assertThat(run.err()).contains("tiny-tokenizer.bin").contains("512").contains("3");
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
