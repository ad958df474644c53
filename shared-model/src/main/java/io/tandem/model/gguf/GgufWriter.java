package io.tandem.model.gguf;

import io.tandem.model.gguf.GgufValue.ArrayValue;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Writes GGUF version 3 files: metadata of every value type, and tensors given as floats (stored as F32,
 * F16, Q8_0 or Q4_0, quantized with ggml's reference quantizers) or as bytes already in any ggml layout.
 * Tensor data starts at the alignment (32 unless {@link #alignment(int)} says otherwise, which also writes
 * {@code general.alignment}) and every tensor is padded to it, as llama.cpp's gguf writer does.
 *
 * <p>Tensors are held by reference and encoded while {@link #write} streams the file, so writing a model
 * needs no second copy of its weights: do not modify an array between adding it and writing.
 */
public final class GgufWriter {

    /** The float tensor types this writer encodes itself. */
    private static final Set<GgmlType> FLOAT_TARGETS = Set.of(GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0);

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<PendingTensor> tensors = new ArrayList<>();
    private final Set<String> tensorNames = new LinkedHashSet<>();
    private int alignment = GgufParser.DEFAULT_ALIGNMENT;

    /** A tensor waiting to be written: its info (offset filled in at write time) and where its bytes come from. */
    private record PendingTensor(String name, long[] dims, GgmlType type, float[] values, byte[] raw) {
        long byteSize() {
            long count = 1;
            for (long dim : dims) {
                count = Math.multiplyExact(count, dim);
            }
            return type.bytesFor(count);
        }
    }

    /** Sets the data alignment (a power of two) and records it as {@code general.alignment} (UINT32). */
    public GgufWriter alignment(int alignment) {
        if (alignment <= 0 || (alignment & (alignment - 1)) != 0) {
            throw new IllegalArgumentException("alignment " + alignment + " is not a power of two");
        }
        this.alignment = alignment;
        metadata.put(GgufMetadata.ALIGNMENT_KEY, GgufValue.uint32(alignment));
        return this;
    }

    /** Adds a metadata entry; keys keep the order they were added in. */
    public GgufWriter put(String key, GgufValue value) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        if (key.equals(GgufMetadata.ALIGNMENT_KEY)) {
            throw new IllegalArgumentException("set the alignment with alignment(int), which also pads the data");
        }
        if (metadata.putIfAbsent(key, value) != null) {
            throw new IllegalArgumentException("metadata key '" + key + "' is already set");
        }
        return this;
    }

    public GgufWriter putString(String key, String value) {
        return put(key, GgufValue.string(value));
    }

    public GgufWriter putUInt32(String key, long value) {
        return put(key, GgufValue.uint32(value));
    }

    public GgufWriter putInt32(String key, int value) {
        return put(key, GgufValue.int32(value));
    }

    public GgufWriter putFloat32(String key, float value) {
        return put(key, GgufValue.float32(value));
    }

    public GgufWriter putBool(String key, boolean value) {
        return put(key, GgufValue.bool(value));
    }

    public GgufWriter putStrings(String key, List<String> values) {
        return put(key, GgufValue.strings(values));
    }

    /**
     * Adds a tensor given as floats in ggml order ({@code dims[0]} values per row), stored as {@code type}:
     * F32, F16, Q8_0 or Q4_0 (the quantized ones need rows that are a multiple of 32 values).
     */
    public GgufWriter addTensor(String name, GgmlType type, long[] dims, float[] values) {
        if (!FLOAT_TARGETS.contains(type)) {
            throw new IllegalArgumentException("tensor '" + name + "': this writer encodes floats as " + FLOAT_TARGETS
                    + ", not " + type + "; pass bytes already in that layout instead");
        }
        long count = checkShape(name, type, dims);
        if (values.length != count) {
            throw new IllegalArgumentException("tensor '" + name + "' has dims " + Arrays.toString(dims) + " (" + count
                    + " values) but " + values.length + " values were given");
        }
        tensors.add(new PendingTensor(name, dims.clone(), type, values, null));
        return this;
    }

    /** Adds a tensor whose bytes are already in {@code type}'s layout (any ggml type). */
    public GgufWriter addTensor(String name, GgmlType type, long[] dims, byte[] raw) {
        long count = checkShape(name, type, dims);
        long bytes = type.bytesFor(count);
        if (raw.length != bytes) {
            throw new IllegalArgumentException("tensor '" + name + "' of " + count + " " + type + " values takes " + bytes
                    + " bytes but " + raw.length + " were given");
        }
        tensors.add(new PendingTensor(name, dims.clone(), type, null, raw));
        return this;
    }

    private long checkShape(String name, GgmlType type, long[] dims) {
        Objects.requireNonNull(name, "name");
        if (!tensorNames.add(name)) {
            throw new IllegalArgumentException("tensor '" + name + "' is already added");
        }
        if (dims.length == 0 || dims.length > GgufParser.MAX_DIMS) {
            tensorNames.remove(name);
            throw new IllegalArgumentException("tensor '" + name + "' needs 1 to " + GgufParser.MAX_DIMS + " dims, not "
                    + dims.length);
        }
        long count = 1;
        for (long dim : dims) {
            if (dim <= 0) {
                tensorNames.remove(name);
                throw new IllegalArgumentException("tensor '" + name + "' has a non-positive dimension: " + Arrays.toString(dims));
            }
            count = Math.multiplyExact(count, dim);
        }
        if (dims[0] % type.blockSize() != 0) {
            tensorNames.remove(name);
            throw new IllegalArgumentException("tensor '" + name + "': rows of " + dims[0] + " values are not a multiple of the "
                    + type + " block size " + type.blockSize());
        }
        return count;
    }

    /** Writes the file (through "NAME.part" beside it, renamed at the end, so a failed write leaves no half file). */
    public void write(Path path) throws IOException {
        Path temp = path.resolveSibling(path.getFileName() + ".part");
        try {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                write(channel);
            }
            Files.move(temp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    private void write(FileChannel channel) throws IOException {
        Output out = new Output(channel);
        out.putInt(GgufParser.MAGIC);
        out.putInt(3);
        out.putLong(tensors.size());
        out.putLong(metadata.size());
        for (Map.Entry<String, GgufValue> entry : metadata.entrySet()) {
            out.putString(entry.getKey());
            out.putInt(entry.getValue().type().id());
            putValue(out, entry.getValue());
        }
        long offset = 0;
        for (PendingTensor tensor : tensors) {
            out.putString(tensor.name());
            out.putInt(tensor.dims().length);
            for (long dim : tensor.dims()) {
                out.putLong(dim);
            }
            out.putInt(tensor.type().id());
            out.putLong(offset);
            offset = GgufParser.alignUp(offset + tensor.byteSize(), alignment);
        }
        out.padTo(alignment);
        for (PendingTensor tensor : tensors) {
            if (tensor.raw() != null) {
                out.putBytes(tensor.raw());
            } else {
                out.putFloats(tensor.type(), tensor.values());
            }
            out.padTo(alignment);
        }
        out.flush();
    }

    private static void putValue(Output out, GgufValue value) throws IOException {
        switch (value) {
            case GgufValue.IntValue i -> out.putInteger(i.type(), i.value());
            case GgufValue.FloatValue f -> {
                if (f.type() == GgufValueType.FLOAT32) {
                    out.putInt(Float.floatToRawIntBits((float) f.value()));
                } else {
                    out.putLong(Double.doubleToRawLongBits(f.value()));
                }
            }
            case GgufValue.BoolValue b -> out.putByte(b.value() ? 1 : 0);
            case GgufValue.StringValue s -> out.putString(s.value());
            case ArrayValue array -> putArray(out, array);
        }
    }

    private static void putArray(Output out, ArrayValue array) throws IOException {
        out.putInt(array.elementType().id());
        out.putLong(array.length());
        switch (array) {
            case GgufValue.IntArray ints -> {
                for (int i = 0; i < ints.length(); i++) {
                    out.putInteger(ints.elementType(), ints.get(i));
                }
            }
            case GgufValue.Float32Array floats -> {
                for (int i = 0; i < floats.length(); i++) {
                    out.putInt(Float.floatToRawIntBits(floats.get(i)));
                }
            }
            case GgufValue.Float64Array doubles -> {
                for (int i = 0; i < doubles.length(); i++) {
                    out.putLong(Double.doubleToRawLongBits(doubles.get(i)));
                }
            }
            case GgufValue.BoolArray bools -> {
                for (int i = 0; i < bools.length(); i++) {
                    out.putByte(bools.get(i) ? 1 : 0);
                }
            }
            case GgufValue.StringArray strings -> {
                for (String s : strings.values()) {
                    out.putString(s);
                }
            }
            case GgufValue.NestedArray nested -> {
                for (ArrayValue inner : nested.values()) {
                    putArray(out, inner);
                }
            }
        }
    }

    /** Little-endian output through one reused buffer; tracks the file position for padding. */
    private static final class Output {
        private static final int CAPACITY = 1 << 20;
        private final FileChannel channel;
        private final ByteBuffer buffer = ByteBuffer.allocateDirect(CAPACITY).order(ByteOrder.LITTLE_ENDIAN);
        private long written;

        Output(FileChannel channel) {
            this.channel = channel;
        }

        private void room(int n) throws IOException {
            if (buffer.remaining() < n) {
                flush();
            }
        }

        void flush() throws IOException {
            buffer.flip();
            while (buffer.hasRemaining()) {
                written += channel.write(buffer);
            }
            buffer.clear();
        }

        long position() {
            return written + buffer.position();
        }

        void putByte(int b) throws IOException {
            room(1);
            buffer.put((byte) b);
        }

        void putInt(int v) throws IOException {
            room(4);
            buffer.putInt(v);
        }

        void putLong(long v) throws IOException {
            room(8);
            buffer.putLong(v);
        }

        void putInteger(GgufValueType type, long v) throws IOException {
            switch (type.minBytes()) {
                case 1 -> putByte((int) v);
                case 2 -> {
                    room(2);
                    buffer.putShort((short) v);
                }
                case 4 -> putInt((int) v);
                default -> putLong(v);
            }
        }

        void putString(String s) throws IOException {
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            putLong(bytes.length);
            putBytes(bytes);
        }

        void putBytes(byte[] bytes) throws IOException {
            int done = 0;
            while (done < bytes.length) {
                room(1);
                int n = Math.min(buffer.remaining(), bytes.length - done);
                buffer.put(bytes, done, n);
                done += n;
            }
        }

        /** Encodes floats block by block straight into the output buffer. */
        void putFloats(GgmlType type, float[] values) throws IOException {
            int chunk = type == GgmlType.F32 || type == GgmlType.F16 ? 1 : GgmlQuants.QK;
            int chunkBytes = (int) type.bytesFor(chunk);
            // as many whole blocks as fit a buffer at once
            int per = CAPACITY / chunkBytes * chunk;
            for (int done = 0; done < values.length; ) {
                int n = Math.min(per, values.length - done);
                room((int) type.bytesFor(n));
                switch (type) {
                    case F32 -> {
                        for (int i = 0; i < n; i++) {
                            buffer.putFloat(values[done + i]);
                        }
                    }
                    case F16 -> GgmlQuants.quantizeF16(values, done, n, buffer);
                    case Q8_0 -> GgmlQuants.quantizeQ8_0(values, done, n, buffer);
                    case Q4_0 -> GgmlQuants.quantizeQ4_0(values, done, n, buffer);
                    default -> throw new AssertionError(type);
                }
                done += n;
            }
        }

        void padTo(int alignment) throws IOException {
            long pad = GgufParser.alignUp(position(), alignment) - position();
            for (long i = 0; i < pad; i++) {
                putByte(0);
            }
        }
    }
}
