package io.tandem.model.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.export.triton.DataType;
import io.tandem.model.export.triton.ModelConfig;
import io.tandem.model.export.triton.ModelSequenceBatching;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.runtime.RuntimeOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every config.pbtxt an export writes parses as protobuf text against Triton's model config
 * schema, as Triton reads it, and says what the graph has; a broken one is refused with its line.
 */
class TritonConfigCheckTest {

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} split {1}")
    @CsvSource({"FAST,0", "PORTABLE,2", "FAST,4"})
    void everyExportedConfigParsesAgainstTheSchema(GraphFlavour flavour, int split) throws IOException {
        Path out = dir.resolve("export");
        ModelExporter.export(LoadedModel.embedded(), new EngineOptions(WeightPrecision.FP32, flavour, split,
                RuntimeOptions.threads(1)), out, true);
        List<Path> configs;
        try (Stream<Path> files = Files.walk(out.resolve("triton"))) {
            configs = files.filter(p -> p.getFileName().toString().equals("config.pbtxt")).sorted().toList();
        }
        assertThat(configs).hasSize(split == 0 ? 1 : 2);
        for (Path file : configs) {
            ModelConfig config = TritonConfigCheck.read(file);
            String[] layers = config.getName().replaceFirst("^stories260K_", "").split("_");
            int first = Integer.parseInt(layers[0]);
            int end = Integer.parseInt(layers[1]);
            assertThat(file.getParent().getFileName().toString()).isEqualTo(config.getName());
            assertThat(config.getBackend()).isEqualTo("onnxruntime");
            assertThat(config.getMaxBatchSize()).isZero();
            assertThat(config.getInput(0).getName()).isEqualTo(first == 0 ? "input_ids" : "hidden_in");
            assertThat(config.getInput(0).getDataType()).isEqualTo(first == 0 ? DataType.TYPE_INT64 : DataType.TYPE_FP32);
            assertThat(config.getOutput(0).getName()).isEqualTo(end == 5 ? "logits" : "hidden_out");
            ModelSequenceBatching batching = config.getSequenceBatching();
            assertThat(batching.hasDirect()).isTrue();
            assertThat(batching.getStateList()).hasSize((end - first) * 2);
            ModelSequenceBatching.State state = batching.getState(0);
            assertThat(state.getInputName()).isEqualTo("past_key." + first);
            assertThat(state.getOutputName()).isEqualTo("present_key." + first);
            assertThat(state.getDimsList()).containsExactly(1L, 4L, -1L, 8L);
            assertThat(state.getInitialState(0).getZeroData()).isTrue();
            assertThat(state.getInitialState(0).getDimsList()).containsExactly(1L, 4L, 0L, 8L);
        }
    }

    @Test
    void aBrokenConfigIsRefusedWithItsLine() {
        String broken = """
                name: "m"
                backend: "onnxruntime"
                max_batch_size: 0
                input [
                  { name: "input_ids" data_type: TYPE_INT46 dims: [ 1, -1 ] }
                ]
                """;
        assertThatThrownBy(() -> TritonConfigCheck.parse(broken, "m/config.pbtxt"))
                .isInstanceOf(TritonConfigCheck.InvalidConfigException.class)
                .hasMessageStartingWith("m/config.pbtxt:5:")
                .hasMessageContaining("TYPE_INT46")
                .satisfies(e -> assertThat(((TritonConfigCheck.InvalidConfigException) e).line()).isEqualTo(5));
        assertThatThrownBy(() -> TritonConfigCheck.parse("name: \"m\"\nmax_batch_sizes: 0\n", "x.pbtxt"))
                .hasMessageStartingWith("x.pbtxt:2:").hasMessageContaining("max_batch_sizes");
        assertThatThrownBy(() -> TritonConfigCheck.parse("sequence_batching { state [ { input_name: \"a\" }\n", "y.pbtxt"))
                .hasMessageStartingWith("y.pbtxt:");
    }
}
