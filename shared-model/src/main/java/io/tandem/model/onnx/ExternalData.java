package io.tandem.model.onnx;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The external-data file of a graph being built: each large weight is appended as soon as the builder
 * produces it, so a graph of any size is built while the heap holds one weight at a time. ONNX Runtime
 * later reads (maps) the weights from this file; the graph refers to them by offset and length.
 *
 * <p>Weights start at multiples of {@link #ALIGNMENT} bytes. Not thread-safe: one builder writes it.
 */
public final class ExternalData implements AutoCloseable {

    static final int ALIGNMENT = 64;
    private static final int CHUNK = 1 << 20;

    private final Path file;
    private final FileChannel channel;
    private final ByteBuffer chunk = ByteBuffer.allocateDirect(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
    private final io.tandem.model.ChunkedDigest fileDigest = new io.tandem.model.ChunkedDigest();
    private long end;
    private boolean closed;

    private ExternalData(Path file, FileChannel channel) {
        this.file = file;
        this.channel = channel;
    }

    /** A new, empty data file (replacing any file of that name). */
    public static ExternalData create(Path file) throws IOException {
        return new ExternalData(file.toAbsolutePath(), FileChannel.open(file, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE, StandardOpenOption.READ));
    }

    public Path file() {
        return file;
    }

    /** Bytes written so far, padding included. */
    public long size() {
        return end;
    }

    /** Appends {@code data} (position to limit), feeding the same bytes to {@code digest}; returns its offset. */
    long append(ByteBuffer data, java.security.MessageDigest digest) {
        long offset = pad();
        ByteBuffer bytes = data.duplicate();
        digest.update(bytes.duplicate());
        fileDigest.update(bytes.duplicate());
        try {
            while (bytes.hasRemaining()) {
                end += channel.write(bytes, end);
            }
        } catch (IOException e) {
            throw failed(e);
        }
        return offset;
    }

    /** Appends {@code values} as little-endian floats without a heap copy of them all; returns the offset. */
    long appendFloats(float[] values, java.security.MessageDigest digest) {
        long offset = pad();
        continueFloats(values, 0, values.length, digest);
        return offset;
    }

    /** Starts a weight written in pieces ({@link #continueFloats}); returns its offset. */
    long begin() {
        return pad();
    }

    /** Writes {@code length} values of {@code values} from {@code from} right after what was written last. */
    void continueFloats(float[] values, int from, int length, java.security.MessageDigest digest) {
        if (closed) {
            throw new IllegalStateException(file + " is closed");
        }
        FloatBuffer floats = chunk.clear().asFloatBuffer();
        try {
            for (int done = 0; done < length; ) {
                int n = Math.min(CHUNK / Float.BYTES, length - done);
                floats.clear();
                floats.put(values, from + done, n);
                chunk.clear().limit(n * Float.BYTES);
                digest.update(chunk.duplicate());
                fileDigest.update(chunk.duplicate());
                while (chunk.hasRemaining()) {
                    end += channel.write(chunk, end);
                }
                done += n;
            }
        } catch (IOException e) {
            throw failed(e);
        }
    }

    /** A read-only view of {@code length} bytes at {@code offset}, mapped (not read into the heap). */
    ByteBuffer map(long offset, long length) {
        try {
            return channel.map(FileChannel.MapMode.READ_ONLY, offset, length).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot map bytes [" + offset + ", " + (offset + length) + ")", e);
        }
    }

    private long pad() {
        if (closed) {
            throw new IllegalStateException(file + " is closed");
        }
        long padded = (end + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
        if (padded > end) {
            try {
                ByteBuffer zeros = ByteBuffer.allocate((int) (padded - end));
                fileDigest.update(zeros.duplicate());
                channel.write(zeros, end);
            } catch (IOException e) {
                throw failed(e);
            }
            end = padded;
        }
        return end;
    }

    private UncheckedIOException failed(IOException e) {
        return new UncheckedIOException(file + ": writing graph weights failed", e);
    }

    /** SHA-256 of each {@link io.tandem.model.ChunkedDigest#CHUNK_BYTES} of the file as written; once it is closed. */
    public java.util.List<String> chunkSha256s() {
        if (!closed) {
            throw new IllegalStateException(file + " is still being written");
        }
        return fileDigest.hashes();
    }

    /** Flushes the file to disk and closes it; mapped views stay valid. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            try (channel) {
                channel.force(false);
            } catch (IOException e) {
                throw failed(e);
            }
        }
    }
}
