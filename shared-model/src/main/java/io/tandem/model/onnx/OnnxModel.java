package io.tandem.model.onnx;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A finished ONNX model: the graph structure, its weights, opset imports and metadata. Weights
 * are written inline for models that fit protobuf's 2 GiB limit comfortably, as external data
 * otherwise.
 */
public final class OnnxModel {

    /** The default-domain opset: 21 brings blocked DequantizeLinear and INT4. */
    public static final int ONNX_OPSET = 21;
    public static final String MS_DOMAIN = "com.microsoft";
    /** Above this many weight bytes a written model keeps its weights in a side file. */
    static final long INLINE_LIMIT_BYTES = 1L << 30;
    private static final int EXTERNAL_ALIGNMENT = ExternalData.ALIGNMENT;
    /**
     * Initializers below this size stay inline even when the weights go external: ONNX Runtime
     * reads shape-like constants (axes, shapes) during shape inference and cannot read those from
     * external data.
     */
    static final long EXTERNAL_MIN_BYTES = 1024;

    private final GraphProto structure;
    private final List<OnnxGraph.Initializer> initializers;
    private final Map<String, String> metadata;
    private final ExternalData external;
    private final MessageDigest weightDigest;
    private String hash;

    public OnnxModel(OnnxGraph graph, Map<String, String> metadata) {
        this.structure = graph.structure().build();
        this.initializers = graph.initializers();
        this.metadata = new LinkedHashMap<>(metadata);
        this.external = graph.external();
        try {
            this.weightDigest = (MessageDigest) graph.weightDigest().clone();
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException("SHA-256 digests can be cloned on every Java platform", e);
        }
    }

    /** The file the large weights were written to while building, or null when they are in memory. */
    public Path externalDataFile() {
        return external == null ? null : external.file();
    }

    public GraphProto structure() {
        return structure;
    }

    public List<OnnxGraph.Initializer> initializers() {
        return initializers;
    }

    /** The model's metadata properties, as written into the file. */
    public Map<String, String> metadata() {
        return java.util.Collections.unmodifiableMap(metadata);
    }

    public long weightBytes() {
        return initializers.stream().mapToLong(OnnxGraph.Initializer::byteSize).sum();
    }

    /**
     * sha256 over every weight (name, type, dims, bytes, in order; hashed while the graph was built, so a
     * graph whose weights went to disk is never read back) and then the graph structure: equal graphs have
     * equal hashes, wherever their weights are kept.
     */
    public synchronized String sha256() {
        if (hash == null) {
            MessageDigest digest;
            try {
                digest = (MessageDigest) weightDigest.clone();
            } catch (CloneNotSupportedException e) {
                throw new IllegalStateException(e);
            }
            digest.update(structure.toByteArray());
            hash = HexFormat.of().formatHex(digest.digest());
        }
        return hash;
    }

    /** Whether the weights can go inline in one protobuf: in memory and small enough. */
    public boolean fitsInline() {
        return external == null && weightBytes() < INLINE_LIMIT_BYTES;
    }

    /** The serialised model with every weight inline. */
    public byte[] toBytes() {
        if (!fitsInline()) {
            throw new IllegalStateException("model weights of " + weightBytes()
                    + " bytes exceed the inline limit; write it to a file with external data");
        }
        ModelProto.Builder model = header();
        GraphProto.Builder g = model.getGraphBuilder();
        for (OnnxGraph.Initializer init : initializers) {
            g.addInitializer(OnnxGraph.tensorHeader(init).setRawData(ByteString.copyFrom(init.data().duplicate())));
        }
        return model.build().toByteArray();
    }

    /**
     * Writes {@code file}; when the weights are too large to inline they go to {@code file + ".data"}
     * beside it, referenced by relative location as the ONNX external data convention says.
     * Returns the files written.
     */
    public List<Path> write(Path file) throws IOException {
        if (external != null) {
            return writeReferencing(file);
        }
        return write(file, !fitsInline());
    }

    /**
     * A graph built into {@link ExternalData}: writes the graph beside its data file, which it refers to as it
     * lies (copied to {@code file + ".data"} first when it lies elsewhere).
     */
    private List<Path> writeReferencing(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        external.close();
        Path dataFile = external.file();
        if (!parent.equals(dataFile.getParent())) {
            Path copy = parent.resolve(file.getFileName() + ".data");
            Path tmp = parent.resolve(copy.getFileName() + ".tmp");
            Files.copy(dataFile, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmp, copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            dataFile = copy;
        }
        String location = dataFile.getFileName().toString();
        ModelProto.Builder model = header();
        GraphProto.Builder g = model.getGraphBuilder();
        for (OnnxGraph.Initializer init : initializers) {
            if (init.isExternal()) {
                g.addInitializer(OnnxGraph.tensorHeader(init)
                        .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                        .addExternalData(entry("location", location))
                        .addExternalData(entry("offset", Long.toString(init.offset())))
                        .addExternalData(entry("length", Long.toString(init.length()))));
            } else {
                g.addInitializer(OnnxGraph.tensorHeader(init).setRawData(ByteString.copyFrom(init.data().duplicate())));
            }
        }
        writeAtomically(file, model.build().toByteArray());
        return List.of(file, dataFile);
    }

    /** As {@link #write(Path)}, choosing the layout: tests use external data on small models. */
    List<Path> write(Path file, boolean externalData) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        if (!externalData) {
            writeAtomically(file, toBytes());
            return List.of(file);
        }
        Path dataFile = parent.resolve(file.getFileName() + ".data");
        Path tmpData = parent.resolve(dataFile.getFileName() + ".tmp");
        ModelProto.Builder model = header();
        GraphProto.Builder g = model.getGraphBuilder();
        try (FileChannel out = FileChannel.open(tmpData, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            long offset = 0;
            for (OnnxGraph.Initializer init : initializers) {
                if (init.byteSize() < EXTERNAL_MIN_BYTES) {
                    g.addInitializer(OnnxGraph.tensorHeader(init).setRawData(ByteString.copyFrom(init.data().duplicate())));
                    continue;
                }
                long padded = (offset + EXTERNAL_ALIGNMENT - 1) / EXTERNAL_ALIGNMENT * EXTERNAL_ALIGNMENT;
                if (padded > offset) {
                    out.write(ByteBuffer.allocate((int) (padded - offset)));
                }
                ByteBuffer data = init.data().duplicate();
                long length = data.remaining();
                while (data.hasRemaining()) {
                    out.write(data);
                }
                g.addInitializer(OnnxGraph.tensorHeader(init)
                        .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                        .addExternalData(entry("location", dataFile.getFileName().toString()))
                        .addExternalData(entry("offset", Long.toString(padded)))
                        .addExternalData(entry("length", Long.toString(length))));
                offset = padded + length;
            }
        }
        Files.move(tmpData, dataFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        writeAtomically(file, model.build().toByteArray());
        return List.of(file, dataFile);
    }

    private ModelProto.Builder header() {
        ModelProto.Builder model = ModelProto.newBuilder()
                .setIrVersion(10)
                .setProducerName("tandem")
                .setProducerVersion(GraphVersion.BUILDER_VERSION)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(ONNX_OPSET))
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(MS_DOMAIN).setVersion(1))
                .setGraph(structure.toBuilder());
        metadata.forEach((k, v) -> model.addMetadataProps(entry(k, v)));
        return model;
    }

    private static StringStringEntryProto entry(String key, String value) {
        return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }

    private static void writeAtomically(Path file, byte[] bytes) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (OutputStream out = Files.newOutputStream(tmp)) {
            out.write(bytes);
        }
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    static MessageDigest sha256Digest() {
        return io.tandem.model.FileDigest.newSha256();
    }
}
