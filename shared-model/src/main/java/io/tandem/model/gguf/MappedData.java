package io.tandem.model.gguf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;

/**
 * The data section of a GGUF file, memory-mapped read-only. A MappedByteBuffer holds at most 2 GiB, so
 * a larger section is mapped as overlapping chunks: chunk {@code i} starts at {@code i * stride} and runs
 * {@code stride + maxWindow} bytes, so any window of up to {@code maxWindow} bytes lies wholly inside the
 * chunk where it starts. Chunks are mapped on first use; pages load only when read, so a 20 GB model costs
 * address space, not heap.
 */
final class MappedData {

    /** With these, a chunk is at most 2^31 - 1 bytes, the most one buffer can address. */
    static final long DEFAULT_STRIDE = 1L << 30;
    static final int DEFAULT_MAX_WINDOW = (1 << 30) - 1;

    private final FileChannel channel;
    private final long base;
    private final long size;
    private final long stride;
    private final int maxWindow;
    private final MappedByteBuffer[] chunks;

    MappedData(FileChannel channel, long base, long size) {
        this(channel, base, size, DEFAULT_STRIDE, DEFAULT_MAX_WINDOW);
    }

    /** Small strides let tests cross chunk boundaries without multi-gigabyte files. */
    MappedData(FileChannel channel, long base, long size, long stride, int maxWindow) {
        if (stride <= 0 || maxWindow <= 0 || stride + maxWindow > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("stride " + stride + " + window " + maxWindow + " exceeds one buffer");
        }
        this.channel = channel;
        this.base = base;
        this.size = Math.max(0, size);
        this.stride = stride;
        this.maxWindow = maxWindow;
        this.chunks = new MappedByteBuffer[(int) Math.max(1, (this.size + stride - 1) / stride)];
    }

    long size() {
        return size;
    }

    int maxWindow() {
        return maxWindow;
    }

    /**
     * A read-only little-endian view of {@code length} bytes at {@code offset} (from the start of the data
     * section); position 0 is {@code offset}. The view is a fresh buffer, so threads may read concurrently.
     */
    ByteBuffer window(long offset, int length) {
        if (offset < 0 || length < 0 || offset > size || length > size - offset) {
            throw new IndexOutOfBoundsException("window [" + offset + ", " + offset + " + " + length
                    + ") is outside the data section of " + size + " bytes");
        }
        if (length > maxWindow) {
            throw new IllegalArgumentException("window of " + length + " bytes exceeds the " + maxWindow + "-byte limit");
        }
        int index = (int) (offset / stride);
        MappedByteBuffer chunk = chunk(index);
        int start = (int) (offset - index * stride);
        return chunk.slice(start, length).order(ByteOrder.LITTLE_ENDIAN);
    }

    private synchronized MappedByteBuffer chunk(int index) {
        MappedByteBuffer chunk = chunks[index];
        if (chunk == null) {
            long start = index * stride;
            long length = Math.min(size - start, stride + maxWindow);
            try {
                chunk = channel.map(FileChannel.MapMode.READ_ONLY, base + start, length);
            } catch (IOException e) {
                throw new UncheckedIOException("mapping bytes [" + (base + start) + ", " + (base + start + length) + ")", e);
            }
            chunks[index] = chunk;
        }
        return chunk;
    }
}
