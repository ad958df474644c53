package io.tandem.model.wire;

import java.util.Objects;

/**
 * One frame as it travels: the header fields that every frame has (which session, which step)
 * around a typed body. One envelope is one WebSocket binary message.
 *
 * @param sessionId chosen by the edge in Open; many sessions share one WebSocket
 * @param sequence per session and direction, so a receiver can see a gap or a replay
 */
public record Envelope(long sessionId, long sequence, Frame frame) {
    public Envelope {
        Objects.requireNonNull(frame, "frame");
    }
}
