package io.tandem.cloud.session;

import io.tandem.cloud.pool.LayerPool;
import io.tandem.model.wire.Envelope;
import io.tandem.model.wire.Frame;
import io.tandem.model.wire.FrameDecoder;
import io.tandem.model.wire.FrameEncoder;
import io.tandem.model.wire.SessionError;
import io.tandem.model.wire.WireError;
import io.tandem.model.wire.WireException;
import io.tandem.model.wire.WireFormat;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One agent's WebSocket as the cloud sees it, free of any web framework: binary messages in,
 * binary messages out, many sessions multiplexed by session id. Decoding happens on the caller's
 * (event loop) thread; every session's steps run in order on the shared workers, so a long
 * prefill in one session never holds up another session's tokens. A broken frame closes the
 * whole connection with its close code; a session's own failure ends only that session.
 */
public final class AgentConnection {

    private static final Logger log = LoggerFactory.getLogger(AgentConnection.class);

    /** Where the connection's output goes: the WebSocket, in the adapter. Both methods are called from many threads. */
    public interface Outbound {
        void send(byte[] message);

        void close(int code, String reason);
    }

    private final String agent;
    private final SessionContext context;
    private final FrameDecoder decoder;
    private final Outbound out;
    private final ConcurrentHashMap<Long, AgentSession> sessions = new ConcurrentHashMap<>();
    private volatile boolean closed;
    /** Version 1 until the agent speaks version 2: a Load sent on connect must not confuse a version 1 agent. */
    private volatile int peerVersion = WireFormat.MIN_VERSION;
    private final java.util.concurrent.atomic.AtomicLong loadSequence = new java.util.concurrent.atomic.AtomicLong();
    private volatile long lastInboundMillis;
    /** Kinds of bad frame already logged for this connection: one line per kind, the rest only counted. */
    private final EnumSet<WireError> logged = EnumSet.noneOf(WireError.class);

    public AgentConnection(String agent, SessionContext context, Outbound out) {
        this.agent = agent;
        this.context = context;
        this.decoder = new FrameDecoder(context.wireLimits());
        this.out = out;
        this.lastInboundMillis = context.clock().millis();
    }

    /** Everything a connection's sessions share. */
    public record SessionContext(LayerPool pool, SessionLimits limits, Executor workers,
                                 io.tandem.model.wire.WireLimits wireLimits, CloudMetrics metrics, Clock clock,
                                 Duration idleTimeout, Duration maxLifetime, DeviceStepRates stepRates) {
    }

    public String agent() {
        return agent;
    }

    public int sessions() {
        return sessions.size();
    }

    /** One binary WebSocket message from the agent. */
    public void onMessage(ByteBuffer message) {
        if (closed) {
            return;
        }
        lastInboundMillis = context.clock().millis();
        int size = message.remaining();
        Envelope envelope;
        try {
            envelope = decoder.decode(message);
        } catch (WireException e) {
            context.metrics().frameBytes("in", "invalid", size);
            rejectFrame(e);
            return;
        }
        context.metrics().frameBytes("in", kind(envelope.frame()), size);
        int version = WireFormat.versionOf(message);
        // the newest version the agent has spoken: connection-level frames (Load) go out in it
        peerVersion = Math.max(peerVersion, version);
        long id = envelope.sessionId();
        Frame frame = envelope.frame();
        if (frame instanceof Frame.Open open) {
            AgentSession fresh = new AgentSession(id, agent, context, this, version);
            if (sessions.putIfAbsent(id, fresh) != null) {
                send(id, -1, SessionError.NO_SUCH_SESSION.frame("session " + id + " is already open on this connection"),
                        version);
                return;
            }
            fresh.accept(envelope.sequence(), open);
            return;
        }
        AgentSession session = sessions.get(id);
        if (session == null) {
            // Close and Cancel may cross the cloud's own end of the session: nothing to do.
            if (!(frame instanceof Frame.Close) && !(frame instanceof Frame.Cancel)) {
                send(id, -1, SessionError.NO_SUCH_SESSION.frame("no open session " + id + " for a " + frame.type() + " frame"),
                        version);
            }
            return;
        }
        if ((frame instanceof Frame.Activations || frame instanceof Frame.Tokens) && !context.stepRates().tryStep(agent)) {
            context.metrics().stepRefused();
            session.refuse(SessionError.SESSION_LIMIT, "device " + agent + " is over its share of "
                    + context.stepRates().perSecond() + " steps/s");
            return;
        }
        session.accept(envelope.sequence(), frame);
    }

    /**
     * A frame that breaks the wire format, found on decoding or later (a payload that does not
     * decompress, an int8 -128): the agent's fault, so no stack trace; one log line per kind and
     * connection, a counter for every one, and the connection closes with the kind's code.
     */
    void rejectFrame(WireException e) {
        context.metrics().frameRejected(e.kind().name());
        boolean first;
        synchronized (logged) {
            first = logged.add(e.kind());
        }
        if (first && !closed) {
            log.info("agent {} sent a bad frame, closing with {}: {}", agent, e.closeCode(), e.getMessage());
        }
        closeWith(e.closeCode(), e.getMessage());
    }

    /** When a frame last arrived from the agent (ms of the context's clock). */
    public long lastInboundMillis() {
        return lastInboundMillis;
    }

    /**
     * Ends sessions that received nothing within the idle timeout, and those older than the maximum
     * lifetime however busy; called periodically.
     */
    public void sweepIdle() {
        long now = context.clock().millis();
        long limit = context.idleTimeout().toMillis();
        long lease = context.maxLifetime().toMillis();
        for (AgentSession s : sessions.values()) {
            if (now - s.openedMillis() > lease) {
                s.expireLease();
            } else if (now - s.lastActivityMillis() > limit) {
                s.expire();
            }
        }
    }

    /** Tells the agent how loaded the cloud is, on session 0 (the connection). */
    public void sendLoad(Frame.Load load) {
        send(0, loadSequence.getAndIncrement(), load, peerVersion);
    }

    /** The WebSocket is gone: free every session's memory. */
    public void onDisconnect() {
        closed = true;
        for (AgentSession s : List.copyOf(sessions.values())) {
            s.abandon();
        }
    }

    /** Closes the connection with a code and reason, then frees its sessions. */
    public void closeWith(int code, String reason) {
        if (closed) {
            return;
        }
        context.metrics().connectionClosed(code);
        out.close(code, reason);
        onDisconnect();
    }

    /** Sends in {@code version}, the one the agent spoke: a version 1 agent never sees a version 2 header. */
    void send(long sessionId, long sequence, Frame frame, int version) {
        if (closed) {
            return;
        }
        byte[] bytes = FrameEncoder.encodeToArray(new Envelope(sessionId, Math.max(sequence, 0), frame), version);
        context.metrics().frameBytes("out", kind(frame), bytes.length);
        out.send(bytes);
    }

    void ended(AgentSession session) {
        sessions.remove(session.id(), session);
    }

    private static String kind(Frame frame) {
        return switch (frame) {
            case Frame.Activations a -> a.codec().label();
            case Frame.Tokens t -> "tokens";
            case Frame.Token t -> "token";
            case Frame.Open o -> "control";
            case Frame.Opened o -> "control";
            case Frame.Cancel c -> "control";
            case Frame.Error e -> "control";
            case Frame.Close c -> "control";
            case Frame.Load l -> "control";
            case Frame.Decoding d -> "control";
            case Frame.Credit c -> "control";
            case Frame.Draft d -> "draft";
            case Frame.Verified v -> "verified";
        };
    }
}
