package io.tandem.model.export;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.runtime.RuntimeOptions;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Triton repository written for the embedded model split at 2: configs equal the goldens, and
 * each config agrees with its graph the way the onnxruntime backend checks at load time.
 */
class TritonModelConfigTest {

    @TempDir
    static Path dir;

    static Path out;

    @BeforeAll
    static void export() throws IOException {
        out = dir.resolve("export");
        ModelExporter.export(LoadedModel.embedded(),
                new EngineOptions(WeightPrecision.FP32, GraphFlavour.PORTABLE, 2, RuntimeOptions.threads(1)), out, true);
    }

    static String golden(String name) throws IOException {
        try (InputStream in = TritonModelConfigTest.class.getResourceAsStream("/io/tandem/model/export/triton/" + name)) {
            assertThat(in).as("test resource " + name).isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void repositoryHasOneModelPerPartitionWithTheGraphInVersionOne() throws IOException {
        Path repository = out.resolve("triton");
        try (Stream<Path> models = Files.list(repository)) {
            assertThat(models.map(p -> p.getFileName().toString()).sorted()).containsExactly("stories260K_0_2", "stories260K_2_5");
        }
        for (String[] pair : new String[][] {{"stories260K_0_2", "layers-0-2"}, {"stories260K_2_5", "layers-2-5"}}) {
            Path model = repository.resolve(pair[0]);
            try (Stream<Path> files = Files.walk(model)) {
                assertThat(files.filter(Files::isRegularFile).map(p -> ExportIndex.relative(model, p)).sorted())
                        .containsExactly("1/model.onnx", "config.pbtxt");
            }
            assertThat(Files.readAllBytes(model.resolve("1/model.onnx")))
                    .isEqualTo(Files.readAllBytes(out.resolve(pair[1]).resolve("model.onnx")));
        }
    }

    @Test
    void configsMatchTheGoldens() throws IOException {
        for (String model : List.of("stories260K_0_2", "stories260K_2_5")) {
            assertThat(Files.readString(out.resolve("triton").resolve(model).resolve("config.pbtxt")))
                    .as(model).isEqualTo(golden(model + ".config.pbtxt"));
        }
    }

    /**
     * What the onnxruntime backend checks when it loads the model: the graph's inputs are exactly
     * the config's inputs plus the state inputs, each config tensor exists in the graph with the same
     * type and compatible dims, and each state pairs an input with an output of the same type.
     */
    @Test
    void configsAgreeWithTheirGraphs() throws IOException, OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        for (String model : List.of("stories260K_0_2", "stories260K_2_5")) {
            Path folder = out.resolve("triton").resolve(model);
            String config = Files.readString(folder.resolve("config.pbtxt"));
            try (OrtSession.SessionOptions so = new OrtSession.SessionOptions();
                 OrtSession session = env.createSession(folder.resolve("1/model.onnx").toString(), so)) {
                Map<String, long[]> graphInputs = shapes(session.getInputInfo());
                Map<String, long[]> graphOutputs = shapes(session.getOutputInfo());

                Map<String, String> tensors = tensorBlocks(config);
                List<String[]> states = states(config);
                assertThat(tensors).as(model + " input and output").hasSize(2);
                assertThat(states).as(model + " states").hasSize(graphOutputs.size() - 1);
                List<String> expectedInputs = new ArrayList<>();
                for (Map.Entry<String, String> t : tensors.entrySet()) {
                    Map<String, long[]> side = graphInputs.containsKey(t.getKey()) ? graphInputs : graphOutputs;
                    assertThat(side).as(model + " " + t.getKey()).containsKey(t.getKey());
                    assertThat(side.get(t.getKey())).as(model + " dims of " + t.getKey()).isEqualTo(dims(t.getValue()));
                    if (side == graphInputs) {
                        expectedInputs.add(t.getKey());
                    }
                }
                for (String[] state : states) {
                    assertThat(graphInputs).containsKey(state[0]);
                    assertThat(graphOutputs).containsKey(state[1]);
                    assertThat(graphInputs.get(state[0])).isEqualTo(dims(state[2]));
                    assertThat(graphOutputs.get(state[1])).isEqualTo(dims(state[2]));
                    expectedInputs.add(state[0]);
                }
                assertThat(graphInputs.keySet()).as(model + " inputs").containsExactlyInAnyOrderElementsOf(expectedInputs);
            }
        }
    }

    @Test
    void fastFlavourConfigsSayWhereContribOperatorsRun() throws IOException {
        Path fast = dir.resolve("fast");
        ModelExporter.export(LoadedModel.embedded(),
                new EngineOptions(WeightPrecision.INT4, GraphFlavour.FAST, 0, RuntimeOptions.threads(1)), fast, true);
        String config = Files.readString(fast.resolve("triton/stories260K_0_5/config.pbtxt"));
        assertThat(config).contains("(int4, fast graph)").contains("--flavour portable for GPU pools")
                .contains("name: \"stories260K_0_5\"").contains("name: \"input_ids\"").contains("name: \"logits\"")
                .contains("dims: [ 1, 512 ]");
        assertThat(Pattern.compile("input_name: ").matcher(config).results().count()).isEqualTo(10);
    }

    @Test
    void modelNamesAreSafeFolderNames() {
        assertThat(TritonModelConfig.modelName("stories260K", 0, 2)).isEqualTo("stories260K_0_2");
        assertThat(TritonModelConfig.modelName("my model/v1.5", 2, 5)).isEqualTo("my_model_v1_5_2_5");
    }

    private static Map<String, long[]> shapes(Map<String, NodeInfo> infos) {
        Map<String, long[]> out = new LinkedHashMap<>();
        infos.forEach((name, info) -> out.put(name, ((TensorInfo) info.getInfo()).getShape()));
        return out;
    }

    /** name -> dims text of each input/output block (those come before sequence_batching). */
    private static Map<String, String> tensorBlocks(String config) {
        Map<String, String> out = new LinkedHashMap<>();
        String ios = config.substring(0, config.indexOf("sequence_batching {"));
        Matcher m = Pattern.compile("\\{\\s*name: \"([^\"]+)\"\\s*data_type: TYPE_\\w+\\s*dims: \\[([^\\]]*)]").matcher(ios);
        while (m.find()) {
            out.put(m.group(1), m.group(2));
        }
        return out;
    }

    /** {input, output, dims} of each state. */
    private static List<String[]> states(String config) {
        List<String[]> out = new ArrayList<>();
        Matcher m = Pattern.compile("input_name: \"([^\"]+)\"\\s*output_name: \"([^\"]+)\"\\s*data_type: TYPE_FP32\\s*dims: \\[([^\\]]*)]")
                .matcher(config);
        while (m.find()) {
            out.add(new String[] {m.group(1), m.group(2), m.group(3)});
        }
        return out;
    }

    private static long[] dims(String text) {
        return Arrays.stream(text.split(",")).map(String::trim).mapToLong(Long::parseLong).toArray();
    }
}
