package io.tandem.model.checkpoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Sequential little-endian reads from a channel through one reused buffer, hashing every byte read so
 * the SHA-256 of the file comes for free with a single pass. Reports a short file as a
 * {@link CheckpointException} that says what was being read and where the file ended.
 */
final class ChecksummedInput {

    private static final int BUFFER_BYTES = 1 << 20;

    private final ReadableByteChannel channel;
    private final String source;
    private final ByteBuffer buffer = ByteBuffer.allocate(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    private final MessageDigest sha256;
    /** Bytes handed out to the caller so far: the file offset of the next read. */
    private long position;
    private boolean endOfStream;
    /** What the header promised, for truncation messages; empty until the header is known. */
    private String expectation = "";

    ChecksummedInput(ReadableByteChannel channel, String source) {
        this.channel = channel;
        this.source = source;
        this.sha256 = io.tandem.model.FileDigest.newSha256();
        buffer.flip(); // empty, in read mode
    }

    long position() {
        return position;
    }

    void expectBytes(long totalBytes, String headerDescription) {
        this.expectation = "; the header (" + headerDescription + ") describes " + totalBytes + " bytes";
    }

    int readInt(String what) {
        require(Integer.BYTES, what);
        position += Integer.BYTES;
        return buffer.getInt();
    }

    int readUnsignedByte(String what) {
        require(1, what);
        position += 1;
        return buffer.get() & 0xFF;
    }

    void readFloats(float[] target, String what) {
        readFloats(target, target.length, what);
    }

    /** Fills the first {@code count} elements of {@code target}. */
    void readFloats(float[] target, int count, String what) {
        int done = 0;
        while (done < count) {
            int chunk = Math.min(count - done, BUFFER_BYTES / Float.BYTES);
            require(chunk * Float.BYTES, what);
            buffer.asFloatBuffer().get(target, done, chunk);
            buffer.position(buffer.position() + chunk * Float.BYTES);
            position += (long) chunk * Float.BYTES;
            done += chunk;
        }
    }

    /** Fills the first {@code count} elements of {@code target}. */
    void readBytes(byte[] target, int count, String what) {
        int done = 0;
        while (done < count) {
            int chunk = Math.min(count - done, BUFFER_BYTES);
            require(chunk, what);
            buffer.get(target, done, chunk);
            position += chunk;
            done += chunk;
        }
    }

    /** Reads past bytes the model does not use; they still count towards the hash. */
    void skip(long count, String what) {
        long left = count;
        while (left > 0) {
            int chunk = (int) Math.min(left, BUFFER_BYTES);
            require(chunk, what);
            buffer.position(buffer.position() + chunk);
            position += chunk;
            left -= chunk;
        }
    }

    /** Reads to the end and returns how many bytes were left after what the caller consumed. */
    long countRemainingBytes() {
        long remaining = 0;
        while (true) {
            remaining += buffer.remaining();
            buffer.position(buffer.limit());
            if (endOfStream || fill(1) == 0) {
                return remaining;
            }
        }
    }

    /** Hex SHA-256 of every byte read; meaningful once the input has been read to its end. */
    String sha256Hex() {
        return HexFormat.of().formatHex(sha256.digest());
    }

    private void require(int bytes, String what) {
        if (buffer.remaining() >= bytes) {
            return;
        }
        if (fill(bytes) < bytes) {
            long actual = position + buffer.remaining();
            throw new CheckpointException(CheckpointException.Problem.TRUNCATED, source,
                    "file ends at byte " + actual + " while reading " + what + " at byte " + position + expectation);
        }
    }

    /** Tops the buffer up to at least {@code wanted} bytes unless the stream ends first; returns what is buffered. */
    private int fill(int wanted) {
        buffer.compact();
        try {
            while (buffer.position() < wanted && !endOfStream) {
                int before = buffer.position();
                int read = channel.read(buffer);
                if (read < 0) {
                    endOfStream = true;
                } else {
                    sha256.update(buffer.array(), buffer.arrayOffset() + before, read);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(source + ": read failed at byte " + position, e);
        } finally {
            buffer.flip();
        }
        return buffer.remaining();
    }
}
