package io.tandem.model.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.manifest.ManifestMismatchException;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.runtime.RuntimeOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A damaged or tampered export is refused, with a message that names the file and the reason. */
class ExportedModelTest {

    @TempDir
    Path dir;

    Path out;

    @BeforeEach
    void export() throws IOException {
        out = dir.resolve("export");
        ModelExporter.export(LoadedModel.embedded(),
                new EngineOptions(WeightPrecision.FP32, GraphFlavour.PORTABLE, 2, RuntimeOptions.threads(1)), out, true);
    }

    @Test
    void anUntouchedExportOpens() throws IOException {
        ExportedModel exported = ExportedModel.open(out);
        assertThat(exported.specs()).extracting(s -> s.firstLayer() + ".." + s.endLayer()).containsExactly("0..2", "2..5");
        assertThat(exported.config().layers()).isEqualTo(5);
        assertThat(exported.tokenizer()).isPresent();
    }

    @Test
    void aManifestFromOtherWeightsIsRefused() throws IOException {
        Path manifest = out.resolve("layers-2-5/manifest.json");
        String sha = LoadedModel.embedded().sourceSha256();
        String other = "f".repeat(64);
        Files.writeString(manifest, Files.readString(manifest).replace(sha, other));

        assertThatThrownBy(() -> ExportedModel.open(out))
                .isInstanceOf(ManifestMismatchException.class)
                .hasMessageContaining(manifest.toString())
                .hasMessageContaining("built from weights with sha256 " + other)
                .hasMessageContaining("stories260K with sha256 " + sha);
    }

    @Test
    void aManifestMovedToAnotherPartitionIsRefused() throws IOException {
        Files.copy(out.resolve("layers-0-2/manifest.json"), out.resolve("layers-2-5/manifest.json"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertThatThrownBy(() -> ExportedModel.open(out))
                .isInstanceOf(ManifestMismatchException.class)
                .hasMessageContaining("layers-2-5/manifest.json")
                .hasMessageContaining("describes layers 0..2");
    }

    @Test
    void aMissingPartitionFolderIsRefused() throws IOException {
        deleteTree(out.resolve("layers-2-5"));
        assertThatThrownBy(() -> ExportedModel.open(out))
                .isInstanceOf(ManifestMismatchException.class)
                .hasMessageContaining("layers-2-5")
                .hasMessageContaining("partition layers-2-5 is missing from the export");
    }

    @Test
    void aPartitionDroppedFromTheIndexIsRefused() throws IOException {
        Path indexFile = out.resolve(ExportIndex.FILE_NAME);
        ExportIndex index = ExportIndex.read(indexFile);
        ExportIndex truncated = new ExportIndex(index.exportVersion(), index.modelName(), index.sourceFormat(),
                index.sourceSha256(), index.precision(), index.flavour(), List.of(index.partitions().getFirst()),
                index.tokenizer(), index.tritonRepository(), index.files());
        Files.writeString(indexFile, truncated.toJson());
        assertThatThrownBy(() -> ExportedModel.open(out))
                .isInstanceOf(ManifestMismatchException.class)
                .hasMessageContaining("cover layers 0..2 but the model has 5: a partition is missing");
    }

    @Test
    void aChangedGraphFileIsRefused() throws IOException {
        Path graph = out.resolve("layers-0-2/model.onnx");
        byte[] bytes = Files.readAllBytes(graph);
        bytes[bytes.length - 5] ^= 0x01; // same size, different bytes
        Files.write(graph, bytes);
        assertThatThrownBy(() -> ExportedModel.open(out))
                .isInstanceOf(ManifestMismatchException.class)
                .hasMessageContaining(graph.toString())
                .hasMessageContaining("changed after export");
    }

    @Test
    void aTruncatedTritonCopyIsRefused() throws IOException {
        Path copy = out.resolve("triton/stories260K_2_5/1/model.onnx");
        byte[] bytes = Files.readAllBytes(copy);
        Files.write(copy, java.util.Arrays.copyOf(bytes, bytes.length - 1));
        assertThatThrownBy(() -> ExportedModel.open(out))
                .isInstanceOf(ManifestMismatchException.class)
                .hasMessageContaining(copy.toString())
                .hasMessageContaining((bytes.length - 1) + " bytes, but " + bytes.length + " were written");
    }

    @Test
    void aDirectoryWithoutIndexIsNotAnExport() throws IOException {
        Files.delete(out.resolve(ExportIndex.FILE_NAME));
        assertThatThrownBy(() -> ExportedModel.open(out))
                .isInstanceOf(ManifestMismatchException.class)
                .hasMessageContaining(out.toAbsolutePath().toString())
                .hasMessageContaining("is not a Tandem export");
    }

    @Test
    void anIndexPointingOutsideTheExportIsRefused() throws IOException {
        Path indexFile = out.resolve(ExportIndex.FILE_NAME);
        Files.writeString(indexFile, Files.readString(indexFile).replace("\"tokenizer.bin\"", "\"../../etc/passwd\""));
        assertThatThrownBy(() -> ExportedModel.open(out))
                .isInstanceOf(ManifestMismatchException.class)
                .hasMessageContaining(indexFile.toString())
                .hasMessageContaining("must be a plain relative path inside the export");
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
