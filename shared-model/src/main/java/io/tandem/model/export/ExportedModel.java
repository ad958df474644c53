package io.tandem.model.export;

import io.tandem.model.engine.Engine;
import io.tandem.model.engine.ModelTokenizer;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.manifest.ManifestMismatchException;
import io.tandem.model.manifest.ModelManifest;
import io.tandem.model.onnx.ActivationPrecision;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.GraphSpec;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.runtime.GraphSession;
import io.tandem.model.runtime.RuntimeOptions;
import io.tandem.model.tokenizer.Llama2cTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * An export directory read back and checked: every partition's manifest belongs to the model the
 * index names and continues the previous partition, the partitions cover all layers, and every
 * file still has the size and sha256 recorded at export time. Only then can sessions be opened.
 */
public final class ExportedModel {

    private final Path directory;
    private final ExportIndex index;
    private final List<ModelManifest> manifests;
    private final List<GraphSpec> specs;

    private ExportedModel(Path directory, ExportIndex index, List<ModelManifest> manifests, List<GraphSpec> specs) {
        this.directory = directory;
        this.index = index;
        this.manifests = List.copyOf(manifests);
        this.specs = List.copyOf(specs);
    }

    /**
     * Reads and verifies an export.
     *
     * @throws ManifestMismatchException when the export is incomplete, altered, or its partitions
     *                                   do not belong together; the message names the file
     * @throws IOException               when a file cannot be read
     */
    public static ExportedModel open(Path directory) throws IOException {
        Path root = directory.toAbsolutePath().normalize();
        Path indexFile = root.resolve(ExportIndex.FILE_NAME);
        if (!Files.isRegularFile(indexFile)) {
            throw new ManifestMismatchException(root + " is not a Tandem export: " + ExportIndex.FILE_NAME
                    + " is missing (an interrupted export leaves none)");
        }
        ExportIndex index = ExportIndex.read(indexFile);

        List<ModelManifest> manifests = new ArrayList<>();
        List<GraphSpec> specs = new ArrayList<>();
        for (ExportIndex.Partition partition : index.partitions()) {
            Path manifestFile = root.resolve(partition.manifestFile());
            Path modelFile = root.resolve(partition.modelFile());
            for (Path required : List.of(manifestFile, modelFile)) {
                if (!Files.isRegularFile(required)) {
                    throw new ManifestMismatchException(required + ": partition " + partition.name()
                            + " is missing from the export");
                }
            }
            ModelManifest manifest = ModelManifest.read(manifestFile);
            requireDescribes(manifestFile, manifest, partition, index);
            if (!manifests.isEmpty()) {
                try {
                    manifest.requireContinues(manifests.getLast());
                } catch (ManifestMismatchException e) {
                    throw new ManifestMismatchException(manifestFile + ": " + e.getMessage());
                }
            }
            manifests.add(manifest);
            specs.add(new GraphSpec(manifest.firstLayer(), manifest.endLayer(), WeightPrecision.parse(manifest.precision()),
                    GraphFlavour.parse(manifest.flavour()), manifest.allPositionLogits(),
                    ActivationPrecision.parse(manifest.activations())));
        }
        LlamaConfig config = manifests.getFirst().architecture();
        if (manifests.getFirst().firstLayer() != 0 || manifests.getLast().endLayer() != config.layers()) {
            throw new ManifestMismatchException(indexFile + ": the partitions cover layers "
                    + manifests.getFirst().firstLayer() + ".." + manifests.getLast().endLayer()
                    + " but the model has " + config.layers() + ": a partition is missing");
        }
        requireFilesUnchanged(root, index);
        return new ExportedModel(root, index, manifests, specs);
    }

    private static void requireDescribes(Path manifestFile, ModelManifest manifest, ExportIndex.Partition partition,
                                         ExportIndex index) {
        if (!manifest.sourceSha256().equals(index.sourceSha256())) {
            throw new ManifestMismatchException(manifestFile + ": built from weights with sha256 " + manifest.sourceSha256()
                    + ", but the export is of " + index.modelName() + " with sha256 " + index.sourceSha256());
        }
        if (!manifest.modelName().equals(index.modelName())) {
            throw new ManifestMismatchException(manifestFile + ": describes model " + manifest.modelName()
                    + ", but the export is of " + index.modelName());
        }
        if (manifest.firstLayer() != partition.firstLayer() || manifest.endLayer() != partition.endLayer()) {
            throw new ManifestMismatchException(manifestFile + ": describes layers " + manifest.firstLayer() + ".."
                    + manifest.endLayer() + ", but " + ExportIndex.FILE_NAME + " lists " + partition.name());
        }
        if (!manifest.graphSha256().equals(partition.graphSha256())) {
            throw new ManifestMismatchException(manifestFile + ": graph sha256 " + manifest.graphSha256()
                    + " differs from " + partition.graphSha256() + " in " + ExportIndex.FILE_NAME);
        }
        if (!manifest.precision().equals(index.precision()) || !manifest.flavour().equals(index.flavour())) {
            throw new ManifestMismatchException(manifestFile + ": a " + manifest.precision() + " " + manifest.flavour()
                    + " graph in a " + index.precision() + " " + index.flavour() + " export");
        }
    }

    /** Each partition's files must be listed, and every listed file must be as it was written. */
    private static void requireFilesUnchanged(Path root, ExportIndex index) throws IOException {
        for (ExportIndex.Partition partition : index.partitions()) {
            index.file(partition.modelFile());
            index.file(partition.manifestFile());
        }
        if (index.tokenizer() != null) {
            index.file(index.tokenizer());
        }
        for (ExportIndex.ExportedFile expected : index.files()) {
            Path file = root.resolve(expected.path());
            if (!Files.isRegularFile(file)) {
                throw new ManifestMismatchException(file + ": listed in " + ExportIndex.FILE_NAME + " but missing");
            }
            long size = Files.size(file);
            if (size != expected.bytes()) {
                throw new ManifestMismatchException(file + ": " + size + " bytes, but " + expected.bytes()
                        + " were written: the file changed after export");
            }
            String sha256 = ExportIndex.sha256(file);
            if (!sha256.equals(expected.sha256())) {
                throw new ManifestMismatchException(file + ": sha256 " + sha256 + " differs from "
                        + expected.sha256() + " recorded at export: the file changed after export");
            }
        }
    }

    public Path directory() {
        return directory;
    }

    public ExportIndex index() {
        return index;
    }

    /** The partitions' manifests, in layer order. */
    public List<ModelManifest> manifests() {
        return manifests;
    }

    /** What each partition's graph was built from, in layer order. */
    public List<GraphSpec> specs() {
        return specs;
    }

    public LlamaConfig config() {
        return manifests.getFirst().architecture();
    }

    /** The ONNX file of partition {@code i}; its external data, if any, lies beside it. */
    public Path modelFile(int partition) {
        return directory.resolve(index.partitions().get(partition).modelFile());
    }

    /** The tokenizer copied at export time, if one was. */
    public Optional<Llama2cTokenizer> tokenizer() throws IOException {
        return index.tokenizer() == null
                ? Optional.empty()
                : Optional.of(Llama2cTokenizer.load(directory.resolve(index.tokenizer())));
    }

    /** Opens every partition with the exported tokenizer; fails when the export has none. */
    public Engine start(RuntimeOptions runtime) throws IOException {
        Llama2cTokenizer tokenizer = tokenizer().orElseThrow(() -> new IllegalStateException(directory
                + ": the export holds no tokenizer; pass one to start(runtime, tokenizer)"));
        return start(runtime, tokenizer);
    }

    /** Opens every partition in ONNX Runtime, ready to generate with {@code tokenizer}. */
    public Engine start(RuntimeOptions runtime, Llama2cTokenizer tokenizer) {
        List<GraphSession> sessions = new ArrayList<>();
        try {
            for (int i = 0; i < specs.size(); i++) {
                sessions.add(GraphSession.open(modelFile(i), specs.get(i), config(), runtime));
            }
        } catch (RuntimeException e) {
            sessions.forEach(GraphSession::close);
            throw e;
        }
        return Engine.ofSessions(index.modelName(), new ModelTokenizer.Llama2c(tokenizer), sessions, manifests);
    }
}
