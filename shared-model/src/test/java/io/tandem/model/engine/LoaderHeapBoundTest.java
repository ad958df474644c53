package io.tandem.model.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.model.generate.GenerationRequest;
import io.tandem.model.gguf.GgmlType;
import io.tandem.model.gguf.GgufModelWriter;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.llama.RandomWeights;
import io.tandem.model.llama.RopeLayout;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.runtime.RuntimeOptions;
import io.tandem.model.sampling.SamplingParams;
import io.tandem.model.tokenizer.Llama2cTokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;

/**
 * Loading a model (GGUF or llama2.c) and building its graph holds the weights in the heap one tensor at a time: a model written
 * for the purpose (64 layers of small tensors, its fp32 weights 7x the heap and the file itself larger than
 * the heap) loads and builds in a JVM whose heap is a fixed multiple of its largest tensor, and generates what
 * a JVM with a large heap generates.
 */
class LoaderHeapBoundTest {

    /** Many small layers: the model is big, every tensor small. */
    static final LlamaConfig MANY_LAYERS = new LlamaConfig("llama", 256, 768, 64, 4, 4, 512, 64, 1e-5f, 10000f,
            RopeLayout.ADJACENT_PAIRS, true, false);
    /** The heap the loader may use, in largest fp32 tensors (a 768x256 projection: 768 KiB). */
    static final int HEAP_IN_LARGEST_TENSORS = 40;

    @TempDir
    static Path dir;
    static Path file;
    static Path checkpoint;
    static long largestTensorBytes;
    static long modelFp32Bytes;

    @BeforeAll
    static void writeModel() throws IOException {
        LlamaWeights weights = RandomWeights.create(MANY_LAYERS, 16);
        largestTensorBytes = 4L * MANY_LAYERS.hiddenDim() * MANY_LAYERS.dim();
        modelFp32Bytes = 0;
        modelFp32Bytes += weights.tokenEmbedding().size() * 4 + weights.finalNorm().size() * 4;
        for (var layer : weights.layers()) {
            for (var m : List.of(layer.attentionNorm(), layer.wq(), layer.wk(), layer.wv(), layer.wo(), layer.ffnNorm(),
                    layer.w1Gate(), layer.w2Down(), layer.w3Up())) {
                modelFp32Bytes += m.size() * 4;
                assertThat(m.size() * 4).isLessThanOrEqualTo(largestTensorBytes);
            }
        }
        file = dir.resolve("many-layers-q8_0.gguf");
        GgufModelWriter.write(file, "many-layers", weights,
                GgufModelWriter.llama2cVocabulary(Llama2cTokenizer.embedded()), GgmlType.Q8_0);
        // a llama2.c fp32 checkpoint of the same weights (its 512-token vocabulary takes the embedded tokenizer)
        checkpoint = dir.resolve("many-layers.bin");
        io.tandem.model.checkpoint.Llama2cCheckpointWriter.write(weights, checkpoint);
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"gguf,int8", "gguf,fp32", "llama2c,int8"})
    void loadsAndBuildsInAHeapBoundedByTheLargestTensor(String format, String precision) throws Exception {
        Path file = format.equals("gguf") ? LoaderHeapBoundTest.file : checkpoint;
        long heap = HEAP_IN_LARGEST_TENSORS * largestTensorBytes;
        assertThat(modelFp32Bytes).as("the model's fp32 weights dwarf the heap").isGreaterThan(6 * heap);
        assertThat(Files.size(file)).as("the file alone exceeds the heap").isGreaterThan(heap);

        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xmx" + heap / 1024 + "k", "-Xms8m", "-XX:+UseSerialGC",
                "-cp", System.getProperty("java.class.path"), HeapBoundChild.class.getName(),
                file.toString(), dir.resolve("cache-" + format + "-" + precision).toString(), precision));
        if (Runtime.version().feature() >= 23) {
            cmd.add(1, "--sun-misc-unsafe-memory-access=allow");
        }
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(child.waitFor(5, TimeUnit.MINUTES)).isTrue();
        assertThat(child.exitValue()).as(output).isZero();

        EngineOptions options = new EngineOptions(WeightPrecision.parse(precision), GraphFlavour.FAST, 0,
                RuntimeOptions.threads(1));
        try (Engine engine = Engine.open(LoadedModel.load(file, null), options)) {
            int[] ids = engine.generate(new GenerationRequest(new int[] {1}, 8, List.of(), SamplingParams.greedy()))
                    .allIds();
            assertThat(output).contains("IDS " + Arrays.toString(ids));
        }
        long peak = output.lines().filter(l -> l.startsWith("PEAK_HEAP ")).mapToLong(l -> Long.parseLong(l.substring(10)))
                .findFirst().orElseThrow();
        assertThat(peak).as(output).isLessThanOrEqualTo(heap);
    }
}
