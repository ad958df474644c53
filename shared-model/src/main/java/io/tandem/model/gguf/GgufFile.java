package io.tandem.model.gguf;

import io.tandem.model.gguf.GgufException.Problem;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A GGUF v2/v3 file (llama.cpp's model format), opened for reading: the metadata and tensor list are
 * parsed at {@link #open}, tensor data is read through a read-only memory map on demand, so opening a
 * multi-gigabyte model costs only its header in heap.
 *
 * <p>Layout: "GGUF", uint32 version, uint64 tensor count, uint64 metadata count, the metadata entries
 * (string key, uint32 value type, value), the tensor infos (string name, uint32 n_dims, uint64 dims,
 * uint32 ggml type, uint64 offset), padding to the alignment ({@code general.alignment}, default 32),
 * then the tensor data, each tensor at its offset from the start of that data section. Everything is
 * little-endian; big-endian files are refused.
 *
 * <p>Safe to read from several threads; {@link #close()} releases the file (the mapped pages go when the
 * buffers handed out become unreachable, as Java cannot unmap explicitly).
 */
public final class GgufFile implements AutoCloseable {

    private final Path path;
    private final FileChannel channel;
    private final GgufHeader header;
    private final Map<String, GgufTensorInfo> tensorsByName;
    private final MappedData data;
    private volatile boolean closed;

    private GgufFile(Path path, FileChannel channel, GgufHeader header, MappedData data) {
        this.path = path;
        this.channel = channel;
        this.header = header;
        this.data = data;
        Map<String, GgufTensorInfo> byName = new LinkedHashMap<>();
        for (GgufTensorInfo tensor : header.tensors()) {
            byName.put(tensor.name(), tensor);
        }
        this.tensorsByName = byName;
    }

    /**
     * Opens and parses a GGUF file.
     *
     * @throws IOException   when the file cannot be read
     * @throws GgufException when it is not a GGUF v2/v3 file, is truncated or corrupt, or names a tensor
     *                       type this reader does not know
     */
    public static GgufFile open(Path path) throws IOException {
        return open(path, MappedData.DEFAULT_STRIDE, MappedData.DEFAULT_MAX_WINDOW);
    }

    /** {@link #open(Path)} with a chunking of the data map that tests can make small. */
    static GgufFile open(Path path, long stride, int maxWindow) throws IOException {
        FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
        try {
            GgufHeader header = GgufParser.parse(channel, path.toString());
            MappedData data = new MappedData(channel, header.dataOffset(), channel.size() - header.dataOffset(),
                    stride, maxWindow);
            return new GgufFile(path, channel, header, data);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    /** 2 or 3; the two differ only in that version 3 may be big-endian, which this reader refuses. */
    public int version() {
        return header.version();
    }

    public GgufMetadata metadata() {
        return header.metadata();
    }

    /** Tensors in file order. */
    public List<GgufTensorInfo> tensors() {
        return header.tensors();
    }

    public Optional<GgufTensorInfo> findTensor(String name) {
        return Optional.ofNullable(tensorsByName.get(name));
    }

    public GgufTensorInfo tensor(String name) {
        GgufTensorInfo tensor = tensorsByName.get(name);
        if (tensor == null) {
            throw new GgufException(Problem.MISSING, source(), "tensor '" + name + "' is missing (the file has "
                    + tensorsByName.size() + " tensors)");
        }
        return tensor;
    }

    /** The alignment of tensor data in bytes. */
    public int alignment() {
        return header.alignment();
    }

    /** The file offset where the data section (and the tensor at offset 0) starts. */
    public long dataOffset() {
        return header.dataOffset();
    }

    // ------------------------------------------------------------------ raw data

    /**
     * The tensor's bytes as a read-only little-endian view of the map (no copy). Tensors over 1 GiB do not
     * fit one view: read them with {@link #tensorBytes(GgufTensorInfo, long, int)} or {@link #dequantizeRows}.
     */
    public ByteBuffer tensorBytes(GgufTensorInfo tensor) {
        long size = own(tensor).byteSize();
        if (size > data.maxWindow()) {
            throw new GgufException(Problem.UNSUPPORTED, source(), "tensor '" + tensor.name() + "' has " + size
                    + " bytes, more than one view holds (" + data.maxWindow() + "); read it in ranges");
        }
        return tensorBytes(tensor, 0, (int) size);
    }

    /** {@code length} bytes of the tensor's data starting {@code from} bytes into it, as a read-only view. */
    public ByteBuffer tensorBytes(GgufTensorInfo tensor, long from, int length) {
        own(tensor);
        if (from < 0 || length < 0 || from > tensor.byteSize() || length > tensor.byteSize() - from) {
            throw new IndexOutOfBoundsException("bytes [" + from + ", " + from + " + " + length + ") of tensor '"
                    + tensor.name() + "' (" + tensor.byteSize() + " bytes)");
        }
        checkOpen();
        return data.window(tensor.offset() + from, length);
    }

    /**
     * {@code length} bytes of the tensor's data starting {@code from} bytes into it, read into a fresh heap
     * buffer rather than viewed through the map: pages read this way stay in the page cache, not in this
     * process's resident set, so reading a whole model once (to build graphs) does not add the file's size
     * to the process's memory.
     */
    public ByteBuffer readTensorBytes(GgufTensorInfo tensor, long from, int length) {
        own(tensor);
        if (from < 0 || length < 0 || from > tensor.byteSize() || length > tensor.byteSize() - from) {
            throw new IndexOutOfBoundsException("bytes [" + from + ", " + from + " + " + length + ") of tensor '"
                    + tensor.name() + "' (" + tensor.byteSize() + " bytes)");
        }
        checkOpen();
        ByteBuffer buffer = ByteBuffer.allocate(length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        long position = header.dataOffset() + tensor.offset() + from;
        try {
            while (buffer.hasRemaining()) {
                int n = channel.read(buffer, position + buffer.position());
                if (n < 0) {
                    throw new GgufException(Problem.MALFORMED, source(), "the file ends inside tensor '" + tensor.name()
                            + "' (at byte " + (position + buffer.position()) + ")");
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(source() + ": reading tensor '" + tensor.name() + "' failed", e);
        }
        return buffer.flip();
    }

    /** Bytes read at once when dequantizing: a bounded buffer whatever the tensor's size. */
    static final int READ_WINDOW = 8 << 20;

    // ------------------------------------------------------------------ dequantization

    /** The tensor's values as floats, in ggml order (row after row, {@code dims[0]} values per row). */
    public float[] dequantize(String name) {
        return dequantize(tensor(name));
    }

    /** The tensor's values as floats; fails for types {@link GgmlType#canDequantize()} rejects. */
    public float[] dequantize(GgufTensorInfo tensor) {
        own(tensor);
        long count = tensor.elementCount();
        if (count > Integer.MAX_VALUE - 8) {
            throw new GgufException(Problem.UNSUPPORTED, source(), "tensor '" + tensor.name() + "' has " + count
                    + " values, more than one float[] holds; use dequantizeRows");
        }
        float[] out = new float[(int) count];
        if (count > 0) {
            dequantizeRows(tensor, 0, Math.toIntExact(tensor.rowCount()), out, 0);
        }
        return out;
    }

    /**
     * Dequantizes {@code rowCount} rows starting at {@code firstRow} into {@code dst} at {@code dstOffset}
     * ({@code rowCount * dims[0]} values). Reads the map in windows, so it works for tensors of any size.
     */
    public void dequantizeRows(GgufTensorInfo tensor, long firstRow, int rowCount, float[] dst, int dstOffset) {
        requireReadable(tensor);
        GgmlType type = tensor.type();
        long rows = tensor.rowCount();
        if (firstRow < 0 || rowCount < 0 || firstRow > rows || rowCount > rows - firstRow) {
            throw new IndexOutOfBoundsException("rows [" + firstRow + ", " + firstRow + " + " + rowCount + ") of tensor '"
                    + tensor.name() + "' with " + rows + " rows");
        }
        long rowLength = tensor.rowLength();
        long values = rowCount * rowLength;
        if (dstOffset < 0 || values > dst.length - (long) dstOffset) {
            throw new IndexOutOfBoundsException(values + " values at " + dstOffset + " do not fit a float[" + dst.length + "]");
        }
        long rowBytes = tensor.rowBytes();
        if (rowBytes > data.maxWindow()) {
            throw new GgufException(Problem.UNSUPPORTED, source(), "tensor '" + tensor.name() + "' has rows of " + rowBytes
                    + " bytes, more than one view holds (" + data.maxWindow() + ")");
        }
        checkOpen();
        int rowsPerWindow = (int) Math.max(1, Math.min(data.maxWindow(), READ_WINDOW) / Math.max(1, rowBytes));
        int out = dstOffset;
        for (int done = 0; done < rowCount; ) {
            int n = Math.min(rowsPerWindow, rowCount - done);
            ByteBuffer window = readTensorBytes(tensor, (firstRow + done) * rowBytes, (int) (n * rowBytes));
            int count = (int) (n * rowLength);
            GgmlQuants.dequantize(type, window, 0, dst, out, count);
            out += count;
            done += n;
        }
    }

    /** Fails, naming the tensor, unless its type is one this reader dequantizes. */
    public void requireReadable(GgufTensorInfo tensor) {
        own(tensor);
        if (!tensor.type().canDequantize()) {
            throw new GgufException(Problem.UNSUPPORTED, source(), "tensor '" + tensor.name() + "' has type " + tensor.type()
                    + ", which this reader cannot dequantize (it reads F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K)");
        }
    }

    // ------------------------------------------------------------------ lifecycle

    @Override
    public void close() throws IOException {
        closed = true;
        channel.close();
    }

    private GgufTensorInfo own(GgufTensorInfo tensor) {
        Objects.requireNonNull(tensor, "tensor");
        if (!tensor.equals(tensorsByName.get(tensor.name()))) {
            throw new IllegalArgumentException("tensor " + tensor + " is not one of " + source() + "'s tensors");
        }
        return tensor;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException(source() + " is closed");
        }
    }

    private String source() {
        return path.toString();
    }

    @Override
    public String toString() {
        return "GgufFile[" + path + ", v" + header.version() + ", " + header.metadata().size() + " keys, "
                + header.tensors().size() + " tensors " + Arrays.toString(header.tensors().stream().limit(3)
                .map(GgufTensorInfo::name).toArray()) + (header.tensors().size() > 3 ? "..." : "") + "]";
    }
}
