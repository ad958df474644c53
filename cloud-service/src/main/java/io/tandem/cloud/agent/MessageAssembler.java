package io.tandem.cloud.agent;

import io.tandem.model.wire.WireError;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Puts one connection's fragmented WebSocket messages together on the heap, with bounds: a message
 * larger than {@code maxMessageBytes} closes the connection with 1009 as soon as its fragments
 * pass the limit, every unfinished message's bytes count against the {@link FragmentMemory} all
 * connections share, and {@link #startedAt} lets the owner close a connection whose message stays
 * unfinished too long. An unfragmented message passes straight through and costs nothing here.
 * Not thread safe: one connection's frames arrive on one thread.
 */
final class MessageAssembler {

    /** Why the connection must close: its code and reason. */
    static final class Refused extends RuntimeException {
        final int code;

        Refused(int code, String reason) {
            super(reason, null, false, false);
            this.code = code;
        }
    }

    private final int maxMessageBytes;
    private final FragmentMemory memory;
    private byte[] buffer;
    private int length;
    /** Read by the sweeper thread. */
    private volatile long startedAt = -1;

    MessageAssembler(int maxMessageBytes, FragmentMemory memory) {
        this.maxMessageBytes = maxMessageBytes;
        this.memory = memory;
    }

    /**
     * One data frame: {@code continuation} for a continuation frame, {@code last} when its FIN bit
     * is set. Returns the whole message when this frame ends one, otherwise null.
     */
    byte[] add(ByteBuffer payload, boolean continuation, boolean last, long nowMillis) {
        int size = payload.remaining();
        if (!continuation && startedAt >= 0) {
            throw new Refused(WireError.CLOSE_PROTOCOL_ERROR, "a new message began inside a fragmented one");
        }
        if (continuation && startedAt < 0) {
            throw new Refused(WireError.CLOSE_PROTOCOL_ERROR, "a continuation frame without a message to continue");
        }
        if (!continuation && last) {
            byte[] whole = new byte[size];
            payload.get(whole);
            return whole;
        }
        if ((long) length + size > maxMessageBytes) {
            int had = length;
            release();
            throw new Refused(WireError.CLOSE_MESSAGE_TOO_BIG, "a fragmented message of more than " + (had + (long) size)
                    + " bytes exceeds the limit of " + maxMessageBytes);
        }
        if (!memory.tryReserve(size)) {
            release();
            throw new Refused(ConnectionPolicy.FRAGMENT_MEMORY_FULL.closeCode(), "the cloud holds "
                    + memory.limit() + " bytes of unfinished fragmented messages, its limit; send whole messages");
        }
        if (startedAt < 0) {
            startedAt = nowMillis;
            buffer = new byte[Math.max(size, 4096)];
        } else if (buffer.length < length + size) {
            buffer = Arrays.copyOf(buffer, (int) Math.min(maxMessageBytes, Math.max((long) buffer.length * 2, length + size)));
        }
        payload.get(buffer, length, size);
        length += size;
        if (!last) {
            return null;
        }
        byte[] whole = buffer.length == length ? buffer : Arrays.copyOf(buffer, length);
        release();
        return whole;
    }

    /** When the unfinished message began (ms), or -1 when there is none. */
    long startedAt() {
        return startedAt;
    }

    /** Bytes of the unfinished message. */
    int pending() {
        return length;
    }

    /** Drops the unfinished message, if any, and gives its memory back. */
    void release() {
        if (length > 0) {
            memory.release(length);
        }
        buffer = null;
        length = 0;
        startedAt = -1;
    }
}
