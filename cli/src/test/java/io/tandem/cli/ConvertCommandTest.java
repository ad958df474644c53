package io.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code tandem convert} writes GGUF files that {@code tandem generate} runs like the llama2.c original. */
class ConvertCommandTest {

    @TempDir
    Path dir;

    static String goldenIds() throws IOException {
        try (InputStream in = ConvertCommandTest.class.getResourceAsStream("/expected-greedy-256.tokens.txt")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        }
    }

    @Test
    void convertedEmbeddedModelGeneratesLlama2cGreedyIds() throws IOException {
        Path gguf = dir.resolve("stories260K.gguf");
        CliRunner convert = CliRunner.run("convert", "--out", gguf.toString());
        assertThat(convert.exitCode()).as(convert.err()).isZero();
        assertThat(convert.out()).contains("wrote " + gguf).contains("GGUF F32").contains("512 tokens");
        assertThat(Files.readAllBytes(gguf)).startsWith('G', 'G', 'U', 'F');
        assertThat(dir.resolve("stories260K.gguf.part")).doesNotExist();

        for (String[] variant : new String[][] {{}, {"--split", "2"}}) {
            String[] args = concat(new String[] {"generate", "--model", gguf.toString(), "--temperature", "0",
                    "--max-tokens", "256", "--ids"}, variant);
            CliRunner run = CliRunner.run(args);
            assertThat(run.exitCode()).as(run.err()).isZero();
            assertThat(run.out().trim()).isEqualTo(goldenIds());
        }
        CliRunner text = CliRunner.run("generate", "--model", gguf.toString(), "--prompt", "Once upon a time",
                "--temperature", "0", "--max-tokens", "12");
        assertThat(text.exitCode()).as(text.err()).isZero();
        assertThat(text.out()).startsWith("Once upon a time, there was a little girl named Lily.");
    }

    @Test
    void chatOnAModelWithoutATemplateAnswersThePlainText() {
        Path gguf = dir.resolve("stories260K.gguf");
        assertThat(CliRunner.run("convert", "--out", gguf.toString()).exitCode()).isZero();
        CliRunner chat = CliRunner.run("generate", "--model", gguf.toString(), "--chat", "Once upon a time",
                "--temperature", "0", "--max-tokens", "12");
        assertThat(chat.exitCode()).as(chat.err()).isZero();
        // the answer only: the plain template makes the message the prompt to continue
        assertThat(chat.out()).startsWith(", there was a little girl named Lily.");
        CliRunner both = CliRunner.run("generate", "--model", gguf.toString(), "--chat", "a", "--prompt", "b");
        assertThat(both.exitCode()).isEqualTo(TandemCli.USAGE);
        assertThat(both.err()).contains("--chat and --prompt");
    }

    @Test
    void quantizedFilesRunAtEveryPrecision() {
        Path q4 = dir.resolve("stories260K-q4_0.gguf");
        assertThat(CliRunner.run("convert", "--out", q4.toString(), "--type", "q4_0").exitCode()).isZero();
        for (String weights : new String[] {"fp32", "int8", "int4"}) {
            CliRunner run = CliRunner.run("generate", "--model", q4.toString(), "--weights", weights, "--temperature", "0",
                    "--max-tokens", "20", "--ids");
            assertThat(run.exitCode()).as(run.err()).isZero();
            assertThat(run.out().trim().split(" ")).hasSize(21);
        }
    }

    @Test
    void existingOutputIsKeptUnlessForced() throws IOException {
        Path gguf = Files.writeString(dir.resolve("taken.gguf"), "mine");
        CliRunner refused = CliRunner.run("convert", "--out", gguf.toString());
        assertThat(refused.exitCode()).isEqualTo(TandemCli.USAGE);
        assertThat(refused.err()).startsWith("tandem convert: --out: " + gguf).contains("--force");
        assertThat(Files.readString(gguf)).isEqualTo("mine");

        CliRunner forced = CliRunner.run("convert", "--out", gguf.toString(), "--type", "q8_0", "--force");
        assertThat(forced.exitCode()).as(forced.err()).isZero();
        assertThat(Files.readAllBytes(gguf)).startsWith('G', 'G', 'U', 'F');
    }

    @Test
    void badArgumentsNameTheirOption() {
        CliRunner type = CliRunner.run("convert", "--out", dir.resolve("x.gguf").toString(), "--type", "q5_k");
        assertThat(type.exitCode()).isEqualTo(TandemCli.USAGE);
        assertThat(type.err()).contains("--type").contains("q5_k");
        CliRunner folder = CliRunner.run("convert", "--out", dir.resolve("no/such/x.gguf").toString());
        assertThat(folder.exitCode()).isEqualTo(TandemCli.USAGE);
        assertThat(folder.err()).contains("--out").contains("does not exist");
        assertThat(CliRunner.run("convert").exitCode()).isEqualTo(TandemCli.USAGE);
    }

    @Test
    void ggufInputIsRefusedByConvertAndItsTokenizerCannotBeReplaced() {
        Path gguf = dir.resolve("m.gguf");
        assertThat(CliRunner.run("convert", "--out", gguf.toString()).exitCode()).isZero();
        CliRunner again = CliRunner.run("convert", "--model", gguf.toString(), "--out", dir.resolve("n.gguf").toString());
        assertThat(again.exitCode()).isEqualTo(TandemCli.USAGE);
        assertThat(again.err()).contains(gguf.toString()).contains("GGUF file already");
        CliRunner tokenizer = CliRunner.run("generate", "--model", gguf.toString(), "--tokenizer", "tok.bin");
        assertThat(tokenizer.exitCode()).isEqualTo(TandemCli.USAGE);
        assertThat(tokenizer.err()).contains("carries its own tokenizer");
    }

    @Test
    void damagedGgufFailsNamingTheFileAndWhatIsWrong() throws IOException {
        Path gguf = dir.resolve("whole.gguf");
        assertThat(CliRunner.run("convert", "--out", gguf.toString()).exitCode()).isZero();
        byte[] bytes = Files.readAllBytes(gguf);
        Path cut = Files.write(dir.resolve("cut.gguf"), Arrays.copyOf(bytes, bytes.length / 2));
        CliRunner truncated = CliRunner.run("generate", "--model", cut.toString());
        assertThat(truncated.exitCode()).isEqualTo(TandemCli.FAILURE);
        assertThat(truncated.err()).startsWith("tandem generate: " + cut + ": ").contains("tensor '");
        assertThat(truncated.err().lines()).hasSize(1);
        assertThat(truncated.out()).isEmpty();

        bytes[1] = 'X';
        Path magic = Files.write(dir.resolve("magic.gguf"), bytes);
        CliRunner badMagic = CliRunner.run("generate", "--model", magic.toString());
        assertThat(badMagic.exitCode()).isEqualTo(TandemCli.FAILURE);
        assertThat(badMagic.err()).startsWith("tandem generate: " + magic + ": ").contains("GGUF magic");
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
