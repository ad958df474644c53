package io.tandem.model.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.model.engine.Engine;
import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.generate.FinishReason;
import io.tandem.model.generate.GenerationRequest;
import io.tandem.model.generate.GenerationResult;
import io.tandem.model.manifest.ModelManifest;
import io.tandem.model.onnx.DecoderGraphBuilder;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.GraphSpec;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.runtime.RuntimeOptions;
import io.tandem.model.sampling.SamplingParams;
import io.tandem.model.tokenizer.Llama2cTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Exporting the embedded stories260K and generating from the files reproduces llama2.c's goldens. */
class ModelExporterTest {

    static LoadedModel model;

    @TempDir
    Path dir;

    @BeforeAll
    static void load() {
        model = LoadedModel.embedded();
    }

    static EngineOptions options(GraphFlavour flavour, int split) {
        return new EngineOptions(WeightPrecision.FP32, flavour, split, RuntimeOptions.threads(1));
    }

    static String golden(String name) {
        try (InputStream in = ModelExporterTest.class.getResourceAsStream("/io/tandem/model/golden/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @ParameterizedTest(name = "{0} split {1}")
    @CsvSource({"PORTABLE,0", "PORTABLE,2", "FAST,0", "FAST,2"})
    void exportedModelGeneratesLlama2csGreedyIds(GraphFlavour flavour, int split) throws IOException {
        Path out = dir.resolve("export");
        ModelExporter.ExportResult result = ModelExporter.export(model, options(flavour, split), out, false);

        List<String> expectedFolders = split == 0 ? List.of("layers-0-5") : List.of("layers-0-2", "layers-2-5");
        assertThat(result.directory()).isEqualTo(out.toAbsolutePath());
        assertThat(result.index().partitions()).extracting(ExportIndex.Partition::name).containsExactlyElementsOf(expectedFolders);
        try (Stream<Path> top = Files.list(out)) {
            assertThat(top.map(p -> p.getFileName().toString()).sorted())
                    .containsExactlyElementsOf(Stream.concat(expectedFolders.stream(),
                            Stream.of(ExportIndex.FILE_NAME, ModelExporter.TOKENIZER_FILE)).sorted().toList());
        }
        for (String folder : expectedFolders) {
            assertThat(out.resolve(folder).resolve(ModelExporter.MODEL_FILE)).isRegularFile();
            assertThat(out.resolve(folder).resolve(ModelExporter.MANIFEST_FILE)).isRegularFile();
        }
        // nothing staged is left beside the export
        try (Stream<Path> siblings = Files.list(dir)) {
            assertThat(siblings).containsExactly(out);
        }

        ExportedModel exported = ExportedModel.open(out);
        // the manifests read back are the ones the engine builds in memory for the same partitions
        List<GraphSpec> specs = Engine.partitions(model.weights().config(), options(flavour, split));
        for (int i = 0; i < specs.size(); i++) {
            ModelManifest inMemory = Engine.manifest(model, specs.get(i), DecoderGraphBuilder.build(model.weights(), specs.get(i)));
            assertThat(exported.manifests().get(i)).isEqualTo(inMemory);
            assertThat(exported.specs().get(i)).isEqualTo(specs.get(i));
        }
        assertThat(exported.index().modelName()).isEqualTo(LoadedModel.EMBEDDED_NAME);
        assertThat(exported.index().sourceSha256()).isEqualTo(model.sourceSha256());

        int[] expected = Arrays.stream(golden("expected-greedy-256.tokens.txt").trim().split("\\s+"))
                .mapToInt(Integer::parseInt).toArray();
        try (Engine engine = exported.start(RuntimeOptions.threads(1))) {
            GenerationResult fromBos = engine.generate(new GenerationRequest(new int[] {1}, expected.length - 1,
                    List.of(), SamplingParams.greedy()));
            assertThat(fromBos.allIds()).containsExactly(expected);
            assertThat(fromBos.finishReason()).isEqualTo(FinishReason.MAX_TOKENS);
            assertThat(fromBos.text()).isEqualTo(golden("expected-greedy-256.txt"));
        }
    }

    @Test
    void copiesTheEmbeddedTokenizerByteForByte() throws IOException {
        Path out = dir.resolve("export");
        ModelExporter.export(model, options(GraphFlavour.FAST, 0), out, false);
        try (InputStream in = Llama2cTokenizer.class.getResourceAsStream(Llama2cTokenizer.EMBEDDED_RESOURCE)) {
            assertThat(Files.readAllBytes(out.resolve(ModelExporter.TOKENIZER_FILE))).isEqualTo(in.readAllBytes());
        }
    }

    @Test
    void indexRecordsEveryFileWithItsSizeAndHash() throws IOException {
        Path out = dir.resolve("export");
        ExportIndex index = ModelExporter.export(model, options(GraphFlavour.PORTABLE, 2), out, true).index();
        try (Stream<Path> all = Files.walk(out)) {
            List<String> onDisk = all.filter(Files::isRegularFile)
                    .map(p -> ExportIndex.relative(out.toAbsolutePath(), p.toAbsolutePath()))
                    .filter(p -> !p.equals(ExportIndex.FILE_NAME)).sorted().toList();
            assertThat(index.files()).extracting(ExportIndex.ExportedFile::path).containsExactlyInAnyOrderElementsOf(onDisk);
        }
        for (ExportIndex.ExportedFile file : index.files()) {
            Path p = out.resolve(file.path());
            assertThat(Files.size(p)).as(file.path()).isEqualTo(file.bytes());
            assertThat(ExportIndex.sha256(p)).as(file.path()).isEqualTo(file.sha256());
        }
        assertThat(ExportIndex.read(out.resolve(ExportIndex.FILE_NAME))).isEqualTo(index);
    }

    @Test
    void refusesANonEmptyDirectoryAndLeavesItUntouched() throws IOException {
        Path out = Files.createDirectory(dir.resolve("used"));
        Files.writeString(out.resolve("keep.txt"), "mine");

        assertThatThrownBy(() -> ModelExporter.export(model, options(GraphFlavour.FAST, 2), out, true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(out.toAbsolutePath().toString())
                .hasMessageContaining("not empty");

        try (Stream<Path> entries = Files.list(out)) {
            assertThat(entries).containsExactly(out.resolve("keep.txt"));
        }
        assertThat(Files.readString(out.resolve("keep.txt"))).isEqualTo("mine");
        try (Stream<Path> siblings = Files.list(dir)) {
            assertThat(siblings).containsExactly(out);
        }
    }

    @Test
    void refusesAFileAsTarget() throws IOException {
        Path file = Files.writeString(dir.resolve("plain.txt"), "x");
        assertThatThrownBy(() -> ModelExporter.export(model, options(GraphFlavour.FAST, 0), file, false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(file.toAbsolutePath().toString())
                .hasMessageContaining("not a directory");
    }

    @Test
    void exportsIntoAnEmptyExistingDirectory() throws IOException {
        Path out = Files.createDirectory(dir.resolve("empty"));
        ModelExporter.export(model, options(GraphFlavour.FAST, 0), out, false);
        assertThat(ExportedModel.open(out).index().partitions()).hasSize(1);
    }

    @Test
    void aFailureHalfWayLeavesNoDirectoryBehind() {
        Path out = dir.resolve("nested").resolve("export");
        ModelExporter.Progress failAfterFirst = partition -> {
            throw new IOException("disk full after " + partition.name());
        };
        assertThatThrownBy(() -> ModelExporter.export(model, options(GraphFlavour.PORTABLE, 2), out, true, failAfterFirst))
                .isInstanceOf(IOException.class)
                .hasMessage("disk full after layers-0-2");
        assertThat(out).doesNotExist();
        assertThat(dir.resolve("nested")).isEmptyDirectory();
    }

    @Test
    void aSplitOutsideTheModelIsRefusedBeforeWritingAnything() {
        Path out = dir.resolve("export");
        assertThatThrownBy(() -> ModelExporter.export(model, options(GraphFlavour.FAST, 9), out, false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("9 is outside 1..4");
        assertThat(out).doesNotExist();
        assertThat(dir).isEmptyDirectory();
    }
}
