package io.tandem.model.export;

import io.tandem.model.engine.Engine;
import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.engine.ModelTokenizer;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.manifest.ModelManifest;
import io.tandem.model.onnx.DecoderGraphBuilder;
import io.tandem.model.onnx.GraphSpec;
import io.tandem.model.onnx.OnnxModel;
import io.tandem.model.tokenizer.Llama2cTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Writes a model's partitions to disk as ONNX graphs with their manifests, optionally with a
 * Triton model repository beside them:
 *
 * <pre>
 * outDir/
 *   tandem-export.json            partitions in order, model name, source sha256, every file's sha256
 *   tokenizer.bin                 when the model's tokenizer file could be copied
 *   layers-0-2/model.onnx         (+ model.onnx.data when the weights are too big to inline)
 *   layers-0-2/manifest.json
 *   layers-2-5/...
 *   triton/stories260K_0_2/config.pbtxt       with --triton
 *   triton/stories260K_0_2/1/model.onnx
 * </pre>
 *
 * Nothing half-written is left: everything goes into a hidden sibling folder that is renamed into
 * place at the end, and removed if anything fails.
 */
public final class ModelExporter {

    public static final String MODEL_FILE = "model.onnx";
    public static final String MANIFEST_FILE = "manifest.json";
    public static final String TOKENIZER_FILE = "tokenizer.bin";
    public static final String TRITON_FOLDER = "triton";
    /** Triton serves the highest numeric version folder by default; an export has one. */
    static final String TRITON_VERSION = "1";

    /** Called after each partition is fully written; tests use it to fail an export half-way. */
    interface Progress {
        Progress NONE = partition -> { };

        void partitionWritten(ExportIndex.Partition partition) throws IOException;
    }

    private ModelExporter() {
    }

    /** What an export wrote: the final directory and its index. */
    public record ExportResult(Path directory, ExportIndex index) {
        public ExportResult {
            if (directory == null || index == null) {
                throw new IllegalArgumentException("directory and index must be given");
            }
        }
    }

    public static ExportResult export(LoadedModel model, EngineOptions options, Path outDir, boolean triton)
            throws IOException {
        return export(model, options, outDir, triton, Progress.NONE);
    }

    static ExportResult export(LoadedModel model, EngineOptions options, Path outDir, boolean triton, Progress progress)
            throws IOException {
        Path target = requireUsableTarget(outDir);
        LlamaConfig config = model.weights().config();
        // checks the split point before anything touches the disk
        List<GraphSpec> specs = Engine.partitions(config, options);

        Path parent = target.getParent();
        Files.createDirectories(parent);
        Path staging = Files.createTempDirectory(parent, "." + target.getFileName() + ".partial-");
        try {
            ExportIndex index = writeAll(model, options, specs, staging, triton, progress);
            moveIntoPlace(staging, target);
            return new ExportResult(target, index);
        } catch (IOException | RuntimeException | Error e) {
            deleteRecursively(staging, e);
            throw e;
        }
    }

    /**
     * Refuses an export directory that exists and is not empty, or is not a directory; returns it
     * absolute. Callers can check before the (possibly slow) model load.
     */
    public static Path requireUsableTarget(Path outDir) {
        if (outDir == null) {
            throw new IllegalArgumentException("an export directory must be given");
        }
        Path target = outDir.toAbsolutePath().normalize();
        if (target.getParent() == null) {
            throw new IllegalArgumentException(target + " cannot be an export directory: it is a file system root");
        }
        if (Files.exists(target)) {
            if (!Files.isDirectory(target)) {
                throw new IllegalArgumentException(target + " exists and is not a directory");
            }
            try (Stream<Path> entries = Files.list(target)) {
                if (entries.findAny().isPresent()) {
                    throw new IllegalArgumentException(target + " exists and is not empty: export into a new or empty directory");
                }
            } catch (IOException e) {
                throw new UncheckedIOException(target + ": cannot list it", e);
            }
        }
        return target;
    }

    private static ExportIndex writeAll(LoadedModel model, EngineOptions options, List<GraphSpec> specs, Path root,
                                        boolean triton, Progress progress) throws IOException {
        List<ExportIndex.Partition> partitions = new ArrayList<>();
        List<ExportIndex.ExportedFile> files = new ArrayList<>();
        ModelManifest previous = null;
        for (GraphSpec spec : specs) {
            OnnxModel graph = DecoderGraphBuilder.buildForExport(model.weights(), spec, model.weightSource());
            ModelManifest manifest = Engine.manifest(model, spec, graph);
            if (previous != null) {
                manifest.requireContinues(previous);
            }
            String name = ExportIndex.Partition.folderName(spec.firstLayer(), spec.endLayer());
            Path folder = Files.createDirectory(root.resolve(name));
            List<Path> written = new ArrayList<>(graph.write(folder.resolve(MODEL_FILE)));
            Path manifestFile = folder.resolve(MANIFEST_FILE);
            Files.writeString(manifestFile, manifest.toJson());
            written.add(manifestFile);

            if (triton) {
                written.addAll(writeTritonModel(root, manifest, written));
            }
            for (Path file : written) {
                files.add(ExportIndex.ExportedFile.of(root, file));
            }
            ExportIndex.Partition partition = new ExportIndex.Partition(name, spec.firstLayer(), spec.endLayer(), manifest.graphSha256());
            partitions.add(partition);
            previous = manifest;
            progress.partitionWritten(partition);
        }

        String tokenizer = null;
        // a llama2.c tokenizer.bin is copied; a GGUF model's tokenizer lives in its metadata and is not exported yet
        Optional<byte[]> tokenizerBytes = model.tokenizer() instanceof ModelTokenizer.Llama2c llama2c
                ? tokenizerBytes(llama2c.tokenizer()) : Optional.empty();
        if (tokenizerBytes.isPresent()) {
            Path file = root.resolve(TOKENIZER_FILE);
            Files.write(file, tokenizerBytes.get());
            files.add(ExportIndex.ExportedFile.of(root, file));
            tokenizer = TOKENIZER_FILE;
        }

        ExportIndex index = new ExportIndex(ExportIndex.VERSION, model.name(), model.sourceFormat(), model.sourceSha256(),
                options.precision().label(), options.flavour().label(), partitions, tokenizer,
                triton ? TRITON_FOLDER : null, files);
        // the index goes last: an export without it is recognisably incomplete
        Files.writeString(root.resolve(ExportIndex.FILE_NAME), index.toJson());
        return index;
    }

    /** {@code triton/<model>_<a>_<b>/config.pbtxt} and the graph files copied into version folder 1. */
    private static List<Path> writeTritonModel(Path root, ModelManifest manifest, List<Path> partitionFiles)
            throws IOException {
        String tritonName = TritonModelConfig.modelName(manifest.modelName(), manifest.firstLayer(), manifest.endLayer());
        Path modelFolder = root.resolve(TRITON_FOLDER).resolve(tritonName);
        Path versionFolder = Files.createDirectories(modelFolder.resolve(TRITON_VERSION));
        List<Path> written = new ArrayList<>();
        Path config = modelFolder.resolve("config.pbtxt");
        String text = TritonModelConfig.configText(tritonName, manifest);
        // refuse to write what Triton would refuse to load
        TritonConfigCheck.parse(text, config.toString());
        Files.writeString(config, text);
        written.add(config);
        for (Path file : partitionFiles) {
            // model.onnx and its external data, under the same names: the graph refers to the data by name
            if (!file.getFileName().toString().equals(MANIFEST_FILE)) {
                written.add(Files.copy(file, versionFolder.resolve(file.getFileName().toString())));
            }
        }
        return written;
    }

    /**
     * The tokenizer's file bytes, when it was read from a file or the embedded resource that still
     * holds the same vocabulary. LoadedModel keeps only the parsed tokenizer, so the bytes are
     * re-read from where it says it came from and checked against what is loaded.
     */
    static Optional<byte[]> tokenizerBytes(Llama2cTokenizer tokenizer) throws IOException {
        String source = tokenizer.source();
        byte[] bytes;
        if (source.startsWith("classpath:")) {
            try (InputStream in = Llama2cTokenizer.class.getResourceAsStream(source.substring("classpath:".length()))) {
                if (in == null) {
                    return Optional.empty();
                }
                bytes = in.readAllBytes();
            }
        } else {
            Path file;
            try {
                file = Path.of(source);
            } catch (InvalidPathException e) {
                return Optional.empty();
            }
            if (!Files.isRegularFile(file)) {
                return Optional.empty();
            }
            bytes = Files.readAllBytes(file);
        }
        Llama2cTokenizer reread;
        try {
            reread = Llama2cTokenizer.parse(bytes, source);
        } catch (RuntimeException e) {
            return Optional.empty();
        }
        return sameVocabulary(tokenizer, reread) ? Optional.of(bytes) : Optional.empty();
    }

    private static boolean sameVocabulary(Llama2cTokenizer a, Llama2cTokenizer b) {
        if (a.vocabSize() != b.vocabSize() || a.maxTokenLength() != b.maxTokenLength()) {
            return false;
        }
        for (int id = 0; id < a.vocabSize(); id++) {
            if (!a.piece(id).equals(b.piece(id)) || Float.compare(a.score(id), b.score(id)) != 0) {
                return false;
            }
        }
        return true;
    }

    private static void moveIntoPlace(Path staging, Path target) throws IOException {
        try {
            // rename(2): atomic, and replaces an empty directory left there by the user
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(staging, target, StandardCopyOption.REPLACE_EXISTING);
        } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
            throw new IllegalArgumentException(target + " appeared and is not empty while exporting: nothing was written there", e);
        }
    }

    private static void deleteRecursively(Path folder, Throwable cause) {
        if (!Files.exists(folder)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(folder)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException e) {
            cause.addSuppressed(e);
        }
    }
}
