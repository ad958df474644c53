package io.tandem.model.export;

import io.tandem.model.manifest.ManifestMismatchException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code tandem-export.json}: what an export directory holds. The partitions in layer order, the
 * model they come from, and every file written with its size and a plain sha256 of its bytes, so
 * a reader can tell a complete, untouched export from a damaged one without rebuilding graphs.
 *
 * @param tokenizer        the tokenizer file relative to the export, or null when none was copied
 * @param tritonRepository the Triton model repository folder relative to the export, or null
 * @param files            every file of the export except this index, paths relative with '/'
 */
public record ExportIndex(
        int exportVersion,
        String modelName,
        String sourceFormat,
        String sourceSha256,
        String precision,
        String flavour,
        List<Partition> partitions,
        String tokenizer,
        String tritonRepository,
        List<ExportedFile> files) {

    public static final int VERSION = 1;
    public static final String FILE_NAME = "tandem-export.json";
    private static final JsonMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    public ExportIndex {
        if (exportVersion != VERSION) {
            throw new ManifestMismatchException("export version " + exportVersion + " is not supported (expected " + VERSION + ")");
        }
        requireText("modelName", modelName);
        requireText("sourceSha256", sourceSha256);
        requireText("precision", precision);
        requireText("flavour", flavour);
        if (partitions == null || partitions.isEmpty()) {
            throw new ManifestMismatchException("an export lists at least one partition");
        }
        partitions = List.copyOf(partitions);
        files = files == null ? List.of() : List.copyOf(files);
        Set<String> seen = new HashSet<>();
        for (ExportedFile file : files) {
            if (!seen.add(file.path())) {
                throw new ManifestMismatchException("file " + file.path() + " is listed twice");
            }
        }
        if (tokenizer != null) {
            requireRelative("tokenizer", tokenizer);
        }
        if (tritonRepository != null) {
            requireRelative("tritonRepository", tritonRepository);
        }
    }

    /**
     * One partition: the layers {@code [firstLayer, endLayer)} in folder {@code name}, holding
     * {@code model.onnx} (and {@code model.onnx.data} for big models) and {@code manifest.json}.
     * {@code graphSha256} is the manifest's hash of the in-memory graph, repeated so a reader can
     * match manifest and index.
     */
    public record Partition(String name, int firstLayer, int endLayer, String graphSha256) {
        public Partition {
            requireRelative("partition name", name);
            if (name.contains("/")) {
                throw new ManifestMismatchException("partition name '" + name + "' must be a single folder");
            }
            if (firstLayer < 0 || endLayer <= firstLayer) {
                throw new ManifestMismatchException("partition " + name + " has an empty layer range "
                        + firstLayer + ".." + endLayer);
            }
            requireText("graphSha256", graphSha256);
        }

        /** The folder name the exporter gives layers {@code [first, end)}. */
        public static String folderName(int first, int end) {
            return "layers-" + first + "-" + end;
        }

        public String modelFile() {
            return name + "/" + ModelExporter.MODEL_FILE;
        }

        public String manifestFile() {
            return name + "/" + ModelExporter.MANIFEST_FILE;
        }
    }

    /** A written file: its path relative to the export (with '/'), size and sha256 of its bytes. */
    public record ExportedFile(String path, long bytes, String sha256) {
        public ExportedFile {
            requireRelative("file path", path);
            if (bytes < 0) {
                throw new ManifestMismatchException(path + ": negative size " + bytes);
            }
            requireText("sha256", sha256);
        }

        /** Measures and hashes {@code file}, naming it relative to {@code root}. */
        public static ExportedFile of(Path root, Path file) throws IOException {
            return new ExportedFile(relative(root, file), Files.size(file), ExportIndex.sha256(file));
        }
    }

    public ExportedFile file(String path) {
        return files.stream().filter(f -> f.path().equals(path)).findFirst()
                .orElseThrow(() -> new ManifestMismatchException(FILE_NAME + " does not list " + path));
    }

    public long totalBytes() {
        return files.stream().mapToLong(ExportedFile::bytes).sum();
    }

    public String toJson() {
        return JSON.writeValueAsString(this);
    }

    public static ExportIndex read(Path file) throws IOException {
        String text = Files.readString(file);
        try {
            return JSON.readValue(text, ExportIndex.class);
        } catch (ManifestMismatchException e) {
            throw new ManifestMismatchException(file + ": " + e.getMessage());
        } catch (JacksonException e) {
            // Jackson wraps what a compact constructor throws; surface our own message when it is one
            Throwable cause = e.getCause();
            String why = cause instanceof ManifestMismatchException m ? m.getMessage() : e.getOriginalMessage();
            throw new ManifestMismatchException(file + ": not a valid export index: " + why);
        }
    }

    /** A path relative to {@code root}, with '/' separators whatever the platform. */
    static String relative(Path root, Path file) {
        return root.relativize(file).toString().replace(file.getFileSystem().getSeparator(), "/");
    }

    /** sha256 of a file's bytes, streamed. */
    static String sha256(Path file) throws IOException {
        return io.tandem.model.FileDigest.sha256Hex(file);
    }

    private static void requireText(String name, String value) {
        if (value == null || value.isBlank()) {
            throw new ManifestMismatchException(name + " must be given");
        }
    }

    /** Paths come from a file anyone can edit: keep them inside the export. */
    private static void requireRelative(String what, String path) {
        requireText(what, path);
        if (path.startsWith("/") || path.contains("\\") || path.contains(":")
                || List.of(path.split("/")).stream().anyMatch(p -> p.isEmpty() || p.equals(".") || p.equals(".."))) {
            throw new ManifestMismatchException(what + " '" + path + "' must be a plain relative path inside the export");
        }
    }
}
