package io.tandem.model.engine;

import io.tandem.model.ChunkedDigest;
import io.tandem.model.FileDigest;
import io.tandem.model.manifest.ModelManifest;
import io.tandem.model.onnx.DecoderGraphBuilder;
import io.tandem.model.onnx.ExternalData;
import io.tandem.model.onnx.GraphSpec;
import io.tandem.model.onnx.GraphVersion;
import io.tandem.model.onnx.OnnxModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * Where built graphs go on their way to ONNX Runtime: each graph is built straight into a file (its large
 * weights written as they are made, so the heap holds one weight at a time), then opened from there.
 *
 * <p>{@link #temporary()} builds into a temporary folder removed once the session is open. {@link #cached}
 * keeps each graph in a folder of the cache directory named by a key over everything that decides the
 * graph: the model file's sha256 and name, the builder version, and the graph's spec (layers, precision,
 * flavour, activations, logits, exit head, batched). The next start with the same key opens the graph
 * without building it. An entry is written under a hidden name and renamed into place when complete, and
 * lists each of its files with size and sha256 (the large data file as sha256s of 32 MiB pieces, checked on
 * every core at once); an entry that is incomplete, altered or does not match its
 * key is logged, deleted and rebuilt, never used.
 */
public final class GraphStore {

    private static final Logger log = LoggerFactory.getLogger(GraphStore.class);

    public static final String MODEL_FILE = "model.onnx";
    public static final String DATA_FILE = MODEL_FILE + ".data";
    public static final String MANIFEST_FILE = "manifest.json";
    public static final String INDEX_FILE = "tandem-graph.json";
    private static final JsonMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    private final Path cacheDirectory;
    private final java.util.concurrent.atomic.AtomicInteger builds = new java.util.concurrent.atomic.AtomicInteger();

    private GraphStore(Path cacheDirectory) {
        this.cacheDirectory = cacheDirectory;
    }

    /** Graphs built into temporary files, removed once opened. */
    public static GraphStore temporary() {
        return new GraphStore(null);
    }

    /** Graphs kept in {@code directory} (created if missing) and reused while they match. */
    public static GraphStore cached(Path directory) {
        if (directory == null) {
            throw new IllegalArgumentException("a cache directory must be given");
        }
        Path dir = directory.toAbsolutePath().normalize();
        sweep(dir);
        return new GraphStore(dir);
    }

    /**
     * A cache in {@code directory} when it can be created and written, else (logged) temporary graphs: a
     * service whose cache folder is read-only still starts, building its graphs as before. Null: temporary.
     */
    public static GraphStore cachedIfWritable(Path directory) {
        if (directory == null) {
            return temporary();
        }
        try {
            Files.createDirectories(directory);
            Path probe = Files.createTempFile(directory, ".probe-", ".tmp");
            Files.delete(probe);
            return cached(directory);
        } catch (IOException | RuntimeException e) {
            log.warn("graph cache directory {} is not writable ({}); graphs are built at every start", directory,
                    e.toString());
            return temporary();
        }
    }

    /**
     * The usual cache directory: {@code $XDG_CACHE_HOME/tandem/graphs}, else {@code ~/.cache/tandem/graphs}.
     */
    public static Path defaultDirectory() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("tandem").resolve("graphs");
    }

    /** The cache directory, or null for temporary graphs. */
    public Path cacheDirectory() {
        return cacheDirectory;
    }

    /** How many graphs this store has built (cache hits build nothing). */
    public int builds() {
        return builds.get();
    }

    /**
     * A graph ready for ONNX Runtime: its file (with its external data beside it) and manifest. Close it once
     * the session is open: a temporary graph's files are removed then; a cached one stays.
     */
    public record Stored(Path modelFile, ModelManifest manifest, boolean temporary) implements AutoCloseable {
        @Override
        public void close() {
            if (temporary) {
                deleteQuietly(modelFile.getParent());
            }
        }
    }

    /** The graph of {@code spec} (batched or not) for {@code model}: from the cache when it holds it intact. */
    public Stored graph(LoadedModel model, GraphSpec spec, boolean batched) {
        try {
            if (cacheDirectory == null) {
                Path dir = Files.createTempDirectory("tandem-graph");
                try {
                    ModelManifest manifest = build(model, spec, batched, dir).manifest();
                    return new Stored(dir.resolve(MODEL_FILE), manifest, true);
                } catch (IOException | RuntimeException | Error e) {
                    deleteQuietly(dir);
                    throw e;
                }
            }
            return cachedGraph(model, spec, batched);
        } catch (IOException e) {
            throw new UncheckedIOException("could not store the graph of layers " + spec.firstLayer() + ".."
                    + spec.endLayer() + (cacheDirectory == null ? "" : " in " + cacheDirectory) + ": " + e.getMessage(), e);
        }
    }

    /** Everything that decides the graph, in words: the entry records it and must match it exactly. */
    static String keyText(LoadedModel model, GraphSpec spec, boolean batched) {
        return "model=" + model.name() + ";sha256=" + model.sourceSha256() + ";format=" + model.sourceFormat()
                + ";builder=" + GraphVersion.BUILDER_VERSION + ";builder-code=" + BuilderCode.FINGERPRINT
                + ";onnx-opset=" + OnnxModel.ONNX_OPSET
                + ";layers=" + spec.firstLayer() + ".." + spec.endLayer() + ";precision=" + spec.precision().label()
                + ";flavour=" + spec.flavour().label() + ";activations=" + spec.activations().label()
                + ";all-position-logits=" + spec.allPositionLogits() + ";exit-head=" + spec.exitHead()
                + ";batched=" + batched;
    }

    /**
     * A hash of the compiled code that turns a model file into a graph and its manifest: every class (nested,
     * anonymous and local ones included) of the packages that read model files, hold weights, build graphs and
     * write manifests. A change to any of them that forgot to bump {@link GraphVersion#BUILDER_VERSION} still
     * misses the cache rather than serving an old graph.
     */
    static final class BuilderCode {
        static final List<String> PACKAGES = List.of("io/tandem/model/onnx/", "io/tandem/model/llama/",
                "io/tandem/model/gguf/", "io/tandem/model/checkpoint/", "io/tandem/model/manifest/",
                "io/tandem/model/engine/");
        static final String FINGERPRINT = fingerprint();

        private BuilderCode() {
        }

        static String fingerprint() {
            java.util.TreeMap<String, byte[]> classes = new java.util.TreeMap<>();
            try {
                Path source = Path.of(GraphStore.class.getProtectionDomain().getCodeSource().getLocation().toURI());
                if (Files.isDirectory(source)) {
                    for (String pkg : PACKAGES) {
                        Path dir = source.resolve(pkg);
                        if (!Files.isDirectory(dir)) {
                            continue;
                        }
                        try (Stream<Path> files = Files.list(dir)) {
                            for (Path f : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                                classes.put(pkg + f.getFileName(), Files.readAllBytes(f));
                            }
                        }
                    }
                } else {
                    try (java.util.jar.JarFile jar = new java.util.jar.JarFile(source.toFile())) {
                        for (java.util.jar.JarEntry e : java.util.Collections.list(jar.entries())) {
                            String name = e.getName();
                            if (name.endsWith(".class") && PACKAGES.stream().anyMatch(pkg -> name.startsWith(pkg)
                                    && name.indexOf('/', pkg.length()) < 0)) {
                                try (java.io.InputStream in = jar.getInputStream(e)) {
                                    classes.put(name, in.readAllBytes());
                                }
                            }
                        }
                    }
                }
            } catch (IOException | java.net.URISyntaxException | RuntimeException e) {
                throw new IllegalStateException("cannot read the graph builder's classes to key the graph cache: " + e, e);
            }
            if (classes.isEmpty()) {
                throw new IllegalStateException("found none of the graph builder's classes to key the graph cache");
            }
            java.security.MessageDigest digest = FileDigest.newSha256();
            classes.forEach((name, bytes) -> {
                digest.update(name.getBytes(StandardCharsets.UTF_8));
                digest.update(bytes);
            });
            return HexFormat.of().formatHex(digest.digest()).substring(0, 16);
        }
    }

    /** The entry's folder name: readable parts, then a hash of the whole key. */
    static String folderName(LoadedModel model, GraphSpec spec, boolean batched) {
        String hash = HexFormat.of().formatHex(FileDigest.newSha256()
                .digest(keyText(model, spec, batched).getBytes(StandardCharsets.UTF_8))).substring(0, 24);
        String name = model.name().replaceAll("[^A-Za-z0-9._-]", "_");
        return (name.length() > 40 ? name.substring(0, 40) : name) + "-" + spec.precision().label() + "-"
                + spec.firstLayer() + "-" + spec.endLayer() + (batched ? "-batched" : "") + "-" + hash;
    }

    /** What an entry records about itself; files relative to the entry, in the order written. */
    record EntryIndex(String key, String graphSha256, List<EntryFile> files) {
    }

    /** A small file has its sha256; the data file instead one per {@link ChunkedDigest#CHUNK_BYTES}, checked in parallel. */
    record EntryFile(String path, long bytes, String sha256, List<String> chunkSha256) {
    }

    private Stored cachedGraph(LoadedModel model, GraphSpec spec, boolean batched) throws IOException {
        Files.createDirectories(cacheDirectory);
        String key = keyText(model, spec, batched);
        Path entry = cacheDirectory.resolve(folderName(model, spec, batched));
        if (Files.exists(entry)) {
            try {
                return new Stored(entry.resolve(MODEL_FILE), verify(entry, key), false);
            } catch (IOException | RuntimeException e) {
                discard(entry, e);
            }
        }
        Path staging = Files.createTempDirectory(cacheDirectory, "." + entry.getFileName() + PARTIAL);
        try {
            Built built = build(model, spec, batched, staging);
            List<EntryFile> files = new ArrayList<>();
            files.add(new EntryFile(DATA_FILE, Files.size(staging.resolve(DATA_FILE)), null, built.dataChunks()));
            for (String name : List.of(MODEL_FILE, MANIFEST_FILE)) {
                Path file = staging.resolve(name);
                files.add(new EntryFile(name, Files.size(file), FileDigest.sha256Hex(file), null));
            }
            EntryIndex index = new EntryIndex(key, built.manifest().graphSha256(), files);
            // the index goes last: an entry without it is recognisably incomplete
            Files.writeString(staging.resolve(INDEX_FILE), JSON.writeValueAsString(index));
            try {
                Files.move(staging, entry, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                if (!Files.isDirectory(entry)) {
                    throw e;
                }
                // another process finished the same entry first (rename(2) onto a non-empty folder fails,
                // reported as ENOTEMPTY or EEXIST): use theirs, once it checks out
                deleteQuietly(staging);
                return new Stored(entry.resolve(MODEL_FILE), verify(entry, key), false);
            }
            return new Stored(entry.resolve(MODEL_FILE), built.manifest(), false);
        } catch (IOException | RuntimeException | Error e) {
            deleteQuietly(staging);
            throw e;
        }
    }

    /** The entry's manifest, once every file it lists is as written and it was built for {@code key}. */
    static ModelManifest verify(Path entry, String key) throws IOException {
        Checked checked = checkStructure(entry, key);
        checkPieces(checked);
        return checked.manifest();
    }

    /** An entry whose index, key, sizes, graph and manifest checked out; its data file's pieces are still to check. */
    record Checked(ModelManifest manifest, Path dataFile, List<String> dataPieces) {
    }

    /**
     * Everything but the data file's content: the index and key, every file's size, the graph and manifest
     * by sha256. What ONNX Runtime parses is thereby checked before it sees it; the data file holds raw
     * weight bytes at offsets the checked graph gives, within the checked size.
     */
    static Checked checkStructure(Path entry, String key) throws IOException {
        Path indexFile = entry.resolve(INDEX_FILE);
        if (!Files.isRegularFile(indexFile)) {
            throw new IOException(INDEX_FILE + " is missing");
        }
        EntryIndex index;
        try {
            index = JSON.readValue(Files.readString(indexFile), EntryIndex.class);
        } catch (JacksonException e) {
            throw new IOException(indexFile + " is not a graph cache index: " + e.getOriginalMessage());
        }
        if (!key.equals(index.key())) {
            throw new IOException("it was built for " + index.key() + ", not " + key);
        }
        List<String> names = index.files() == null ? List.of() : index.files().stream().map(EntryFile::path).toList();
        if (!names.containsAll(List.of(MODEL_FILE, DATA_FILE, MANIFEST_FILE))) {
            throw new IOException(INDEX_FILE + " lists " + names + ", not the graph, its data and its manifest");
        }
        Path dataFile = null;
        List<String> pieces = null;
        for (EntryFile expected : index.files()) {
            Path file = entry.resolve(expected.path()).normalize();
            if (!file.getParent().equals(entry) || !Files.isRegularFile(file)) {
                throw new IOException(file + " is missing");
            }
            long size = Files.size(file);
            if (size != expected.bytes()) {
                throw new IOException(file + " has " + size + " bytes, " + expected.bytes() + " were written");
            }
            if (expected.sha256() != null) {
                String sha256 = FileDigest.sha256Hex(file);
                if (!sha256.equals(expected.sha256())) {
                    throw new IOException(file + " has sha256 " + sha256 + ", " + expected.sha256() + " was written");
                }
            } else if (expected.chunkSha256() != null && expected.path().equals(DATA_FILE)) {
                dataFile = file;
                pieces = expected.chunkSha256();
            } else {
                throw new IOException(INDEX_FILE + " lists no usable hash for " + expected.path());
            }
        }
        if (dataFile == null) {
            throw new IOException(INDEX_FILE + " lists no piece hashes for " + DATA_FILE);
        }
        ModelManifest manifest = ModelManifest.read(entry.resolve(MANIFEST_FILE));
        if (!manifest.graphSha256().equals(index.graphSha256())) {
            throw new IOException(MANIFEST_FILE + " names graph " + manifest.graphSha256() + ", the index "
                    + index.graphSha256());
        }
        return new Checked(manifest, dataFile, pieces);
    }

    /** The data file's pieces against their recorded sha256s. */
    static void checkPieces(Checked checked) throws IOException {
        List<String> actual = ChunkedDigest.of(checked.dataFile());
        List<String> written = checked.dataPieces();
        for (int i = 0; i < Math.max(actual.size(), written.size()); i++) {
            String a = i < actual.size() ? actual.get(i) : "none";
            String w = i < written.size() ? written.get(i) : "none";
            if (!a.equals(w)) {
                throw new IOException(checked.dataFile() + ": bytes from " + (long) i * ChunkedDigest.CHUNK_BYTES
                        + " have sha256 " + a + ", " + w + " was written");
            }
        }
    }

    /** What {@link #open} opened, and the manifest of its graph. */
    public record Opened<T>(T value, ModelManifest manifest) {
    }

    /** Opens a graph file: an ONNX Runtime session, say. */
    @FunctionalInterface
    public interface Opener<T extends AutoCloseable> {
        T open(Path modelFile);
    }

    /**
     * The graph of {@code spec} opened by {@code opener}. From the cache, the data file's content is checked
     * while ONNX Runtime opens the (already checked) graph, and the session is used only once it checked out;
     * otherwise it is closed and the entry rebuilt. Hashing hundreds of megabytes thus overlaps the session's
     * start instead of preceding it.
     */
    public <T extends AutoCloseable> Opened<T> open(LoadedModel model, GraphSpec spec, boolean batched, Opener<T> opener) {
        if (cacheDirectory != null) {
            String key = keyText(model, spec, batched);
            Path entry = cacheDirectory.resolve(folderName(model, spec, batched));
            if (Files.exists(entry)) {
                Opened<T> opened = openChecked(entry, key, opener);
                if (opened != null) {
                    return opened;
                }
            }
        }
        try (Stored graph = graph(model, spec, batched)) {
            return new Opened<>(opener.open(graph.modelFile()), graph.manifest());
        }
    }

    /** The entry opened once it checked out, or null (entry deleted, to be rebuilt) when it did not. */
    private <T extends AutoCloseable> Opened<T> openChecked(Path entry, String key, Opener<T> opener) {
        Checked checked;
        try {
            checked = checkStructure(entry, key);
        } catch (IOException | RuntimeException e) {
            discard(entry, e);
            return null;
        }
        java.util.concurrent.CompletableFuture<Void> pieces = java.util.concurrent.CompletableFuture.runAsync(() -> {
            try {
                checkPieces(checked);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        T value;
        try {
            value = opener.open(entry.resolve(MODEL_FILE));
        } catch (RuntimeException e) {
            Throwable damage = failure(pieces);
            if (damage != null) {
                discard(entry, damage);
                return null;
            }
            throw e;
        }
        Throwable damage = failure(pieces);
        if (damage != null) {
            try {
                value.close();
            } catch (Exception closing) {
                damage.addSuppressed(closing);
            }
            discard(entry, damage);
            return null;
        }
        return new Opened<>(value, checked.manifest());
    }

    private static Throwable failure(java.util.concurrent.CompletableFuture<Void> check) {
        try {
            check.join();
            return null;
        } catch (java.util.concurrent.CompletionException e) {
            return e.getCause() instanceof UncheckedIOException u ? u.getCause() : e.getCause();
        }
    }

    /**
     * Takes an unusable entry out of the way: renamed aside first (atomic, so another process never sees it
     * half deleted, nor deletes an entry rebuilt meanwhile), then deleted.
     */
    private static void discard(Path entry, Throwable why) {
        log.warn("graph cache entry {} is unusable ({}); deleting it and building the graph again", entry,
                why.getMessage());
        Path aside = entry.resolveSibling("." + entry.getFileName() + TRASH + java.util.UUID.randomUUID());
        try {
            Files.move(entry, aside, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            return; // gone already: another process took it aside first
        }
        deleteQuietly(aside);
    }

    private static final String TRASH = ".trash-";
    private static final String PARTIAL = ".partial-";
    /** A staging folder this old belongs to a build that died (a running build writes it within minutes). */
    private static final java.time.Duration ABANDONED = java.time.Duration.ofHours(1);

    /** Removes what dead processes left: folders taken aside, and staging folders of builds that never finished. */
    private static void sweep(Path directory) {
        if (!Files.isDirectory(directory)) {
            return;
        }
        try (Stream<Path> children = Files.list(directory)) {
            long now = System.currentTimeMillis();
            for (Path child : children.toList()) {
                String name = child.getFileName().toString();
                if (!name.startsWith(".") || !Files.isDirectory(child)) {
                    continue;
                }
                boolean abandoned = name.contains(PARTIAL)
                        && now - Files.getLastModifiedTime(child).toMillis() > ABANDONED.toMillis();
                if (name.contains(TRASH) || abandoned) {
                    deleteQuietly(child);
                }
            }
        } catch (IOException e) {
            log.warn("could not sweep the graph cache {}: {}", directory, e.getMessage());
        }
    }

    private record Built(ModelManifest manifest, List<String> dataChunks) {
    }

    /** Builds into {@code dir}: model.onnx, model.onnx.data and manifest.json. */
    private Built build(LoadedModel model, GraphSpec spec, boolean batched, Path dir) throws IOException {
        builds.incrementAndGet();
        long start = System.nanoTime();
        try (ExternalData data = ExternalData.create(dir.resolve(DATA_FILE))) {
            OnnxModel graph = batched
                    ? DecoderGraphBuilder.buildBatched(model.weights(), spec, model.weightSource(), data)
                    : DecoderGraphBuilder.build(model.weights(), spec, model.weightSource(), data);
            graph.write(dir.resolve(MODEL_FILE));
            ModelManifest manifest = Engine.manifest(model, spec, graph);
            Files.writeString(dir.resolve(MANIFEST_FILE), manifest.toJson());
            log.debug("built the graph of layers {}..{} ({}{}) of {} in {} ms", spec.firstLayer(), spec.endLayer(),
                    spec.precision().label(), batched ? ", batched" : "", model.name(),
                    (System.nanoTime() - start) / 1_000_000);
            return new Built(manifest, data.chunkSha256s());
        }
    }

    /** Deletes {@code dir} and everything in it; what cannot be deleted is logged, not thrown. */
    public static void deleteQuietly(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            log.warn("could not delete {}: {}", dir, e.getMessage());
        }
    }

    @Override
    public String toString() {
        return cacheDirectory == null ? "GraphStore[temporary]" : "GraphStore[" + cacheDirectory + "]";
    }

}
