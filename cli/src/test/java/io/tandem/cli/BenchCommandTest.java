package io.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class BenchCommandTest {

    private record Run(int status, String out, String err) {
    }

    private static Run bench(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] all = new String[args.length + 1];
        all[0] = "bench";
        System.arraycopy(args, 0, all, 1, args.length);
        int status = TandemCli.execute(all, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(status, out.toString(), err.toString());
    }

    @Test
    void measuresOneTinyConfigurationInAChildJvm() {
        Run run = bench("--weights", "fp32", "--threads", "1", "--prompt-tokens", "4", "--decode-tokens", "4");

        assertThat(run.status()).as(run.err()).isZero();
        assertThat(run.out()).contains("- command: `bin/tandem bench --weights fp32 --threads 1 --prompt-tokens 4 --decode-tokens 4`");
        assertThat(run.out()).contains("- machine: ").contains(" cores, ").contains("ONNX Runtime ");
        assertThat(run.out()).contains("| model | weights | flavour | threads | build (s) | prefill (tok/s) | decode (tok/s) "
                + "| RSS decoding (MiB) | peak RSS (MiB) | load peak RSS (MiB) | first token, cold start (s) "
                + "| first token, cached start (s) | load peak RSS, cached start (MiB) |");
        List<String> rows = run.out().lines().filter(l -> l.startsWith("| stories260K |")).toList();
        assertThat(rows).hasSize(1);
        String number = "([0-9]+(?:\\.[0-9]+)?)";
        String memory = "([0-9]+|n/a)";
        Matcher m = Pattern.compile("\\| stories260K \\| fp32 \\| fast \\| 1 \\| " + number + " \\| " + number + " \\| "
                + number + " \\| " + memory + " \\| " + memory + " \\| " + memory + " \\| " + number
                + " \\| n/a \\| n/a \\|").matcher(rows.getFirst());
        assertThat(m.matches()).as(rows.getFirst()).isTrue();
        assertThat(Double.parseDouble(m.group(2))).as("prefill tokens/s").isPositive();
        assertThat(Double.parseDouble(m.group(3))).as("decode tokens/s").isPositive();
        assertThat(Double.parseDouble(m.group(7))).as("first token after start, s").isPositive();
        if (System.getProperty("os.name").startsWith("Linux")) {
            long rss = Long.parseLong(m.group(4));
            long peak = Long.parseLong(m.group(5));
            assertThat(rss).isPositive();
            assertThat(peak).isGreaterThanOrEqualTo(rss);
            long loadPeak = Long.parseLong(m.group(6));
            assertThat(loadPeak).isPositive().isLessThanOrEqualTo(peak);
        }
    }

    @Test
    void unknownShapeIsAUsageErrorThatNamesTheOptionAndTheKnownShapes() {
        Run run = bench("--shape", "gpt-9");
        assertThat(run.status()).isEqualTo(TandemCli.USAGE);
        assertThat(run.err()).contains("--shape").contains("gpt-9").contains("qwen2.5-0.5b");
        assertThat(run.out()).doesNotContain("| model |");
    }

    @Test
    void modelAndShapeTogetherAreAUsageError() {
        Run run = bench("--model", "some.bin", "--shape", "qwen2.5-0.5b");
        assertThat(run.status()).isEqualTo(TandemCli.USAGE);
        assertThat(run.err()).contains("--model").contains("--shape");
    }

    @Test
    void badListsAndCountsAreUsageErrors() {
        assertThat(bench("--weights", "fp16").err()).contains("--weights");
        assertThat(bench("--weights", "fp16").status()).isEqualTo(TandemCli.USAGE);
        assertThat(bench("--flavour", "turbo").err()).contains("--flavour");
        assertThat(bench("--threads", "-1").err()).contains("--threads");
        Run shortDecode = bench("--decode-tokens", "1");
        assertThat(shortDecode.status()).isEqualTo(TandemCli.USAGE);
        assertThat(shortDecode.err()).contains("--decode-tokens");
        Run tooLong = bench("--prompt-tokens", "5000", "--shape", "qwen2.5-0.5b");
        assertThat(tooLong.status()).isEqualTo(TandemCli.USAGE);
        assertThat(tooLong.err()).contains("--prompt-tokens").contains("4096");
    }
}
