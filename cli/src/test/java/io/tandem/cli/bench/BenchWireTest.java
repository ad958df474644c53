package io.tandem.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.WeightPrecision;
import java.util.List;
import org.junit.jupiter.api.Test;

class BenchWireTest {

    @Test
    void configRoundTripsThroughChildArguments() {
        BenchConfig config = new BenchConfig("shape:qwen2.5-0.5b", WeightPrecision.INT4, GraphFlavour.PORTABLE, 2, 32, 16, 7);
        assertThat(BenchConfig.parse(config.toArgs().toArray(String[]::new))).isEqualTo(config);
        BenchConfig cached = config.withCache("/tmp/graphs", true);
        assertThat(BenchConfig.parse(cached.toArgs().toArray(String[]::new))).isEqualTo(cached);
    }

    @Test
    void resultRoundTripsThroughItsLine() {
        BenchResult result = new BenchResult(1.5, 123.25, 45.5, 2048, 4096, 3072, 2.25, 0);
        String line = result.toLine();
        assertThat(line).startsWith(BenchResult.PREFIX);
        assertThat(BenchResult.parse(line)).isEqualTo(result);
        assertThat(BenchResult.parse("some other output")).isNull();
    }

    @Test
    void procStatusFieldsParse() {
        List<String> lines = List.of("Name:\tjava", "VmHWM:\t  123456 kB", "VmRSS:\t   65432 kB");
        assertThat(ProcStatus.parse(lines, "VmHWM:")).isEqualTo(123456);
        assertThat(ProcStatus.parse(lines, "VmRSS:")).isEqualTo(65432);
        assertThat(ProcStatus.parse(lines, "VmSwap:")).isEqualTo(-1);
    }

    @Test
    void childCommandUsesThisJavaAndClassPathWithNativeAccess() {
        BenchConfig config = new BenchConfig("embedded", WeightPrecision.FP32, GraphFlavour.FAST, 1, 4, 4, 1);
        List<String> cmd = ChildJvm.command(config);
        assertThat(cmd.getFirst()).startsWith(System.getProperty("java.home"));
        assertThat(cmd).contains("--enable-native-access=ALL-UNNAMED", "-cp", BenchWorker.class.getName());
        assertThat(cmd).anyMatch(a -> a.startsWith("-Xmx"));
    }
}
