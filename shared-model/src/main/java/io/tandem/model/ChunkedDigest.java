package io.tandem.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.IntStream;

/**
 * SHA-256 of each {@link #CHUNK_BYTES} piece of a file: written incrementally as the file is written, and
 * checked with every core at once, since one SHA-256 over a large file runs on one core (on a small ARM
 * board hashing a 400 MB graph file that way costs seconds of every start).
 */
public final class ChunkedDigest {

    public static final int CHUNK_BYTES = 32 << 20;

    private final int chunkBytes;
    private final List<String> done = new ArrayList<>();
    private MessageDigest current = FileDigest.newSha256();
    private long inChunk;

    public ChunkedDigest() {
        this(CHUNK_BYTES);
    }

    ChunkedDigest(int chunkBytes) {
        if (chunkBytes <= 0) {
            throw new IllegalArgumentException("chunk size " + chunkBytes);
        }
        this.chunkBytes = chunkBytes;
    }

    /** Feeds the bytes from position to limit (the buffer's position is left unchanged). */
    public void update(ByteBuffer bytes) {
        ByteBuffer rest = bytes.duplicate();
        while (rest.hasRemaining()) {
            int n = (int) Math.min(rest.remaining(), chunkBytes - inChunk);
            ByteBuffer piece = rest.slice(rest.position(), n);
            current.update(piece);
            rest.position(rest.position() + n);
            inChunk += n;
            if (inChunk == chunkBytes) {
                done.add(HexFormat.of().formatHex(current.digest()));
                current = FileDigest.newSha256();
                inChunk = 0;
            }
        }
    }

    /** The chunks' hashes so far, the last (partial) one included when it holds any bytes. */
    public List<String> hashes() {
        List<String> all = new ArrayList<>(done);
        if (inChunk > 0) {
            try {
                all.add(HexFormat.of().formatHex(((MessageDigest) current.clone()).digest()));
            } catch (CloneNotSupportedException e) {
                throw new IllegalStateException(e);
            }
        }
        return all;
    }

    /** The chunk hashes of {@code file}, computed in parallel. */
    public static List<String> of(Path file) throws IOException {
        return of(file, CHUNK_BYTES);
    }

    static List<String> of(Path file, int chunkBytes) throws IOException {
        long size;
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            size = channel.size();
        }
        int chunks = (int) ((size + chunkBytes - 1) / chunkBytes);
        try {
            return IntStream.range(0, chunks).parallel().mapToObj(i -> chunk(file, (long) i * chunkBytes,
                    (int) Math.min(chunkBytes, size - (long) i * chunkBytes))).toList();
        } catch (java.io.UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private static String chunk(Path file, long offset, int length) {
        MessageDigest digest = FileDigest.newSha256();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 20);
            long at = offset;
            long end = offset + length;
            while (at < end) {
                buffer.clear().limit((int) Math.min(buffer.capacity(), end - at));
                int n = channel.read(buffer, at);
                if (n < 0) {
                    break;
                }
                buffer.flip();
                digest.update(buffer);
                at += n;
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
