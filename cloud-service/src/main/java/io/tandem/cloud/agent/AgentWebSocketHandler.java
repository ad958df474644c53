package io.tandem.cloud.agent;

import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.tandem.cloud.config.ConnectionProperties;
import io.tandem.cloud.session.AgentConnection;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.security.oauth2.server.resource.authentication.JwtAuthenticationToken;
import org.springframework.web.reactive.socket.CloseStatus;
import org.springframework.web.reactive.socket.WebSocketHandler;
import org.springframework.web.reactive.socket.WebSocketSession;
import reactor.core.publisher.Mono;
import reactor.netty.Connection;
import reactor.netty.http.websocket.WebsocketInbound;

/**
 * Adapts a Reactor Netty WebSocket to an {@link AgentConnection}: binary messages in and out, the
 * agent's identity (its device) and token expiry from the handshake's JWT. The connection closes
 * when the token expires, since the token is never looked at again after the handshake.
 *
 * <p>Frames are read raw, not through WebFlux's aggregation, so that fragmented messages go
 * through a {@link MessageAssembler} with bounds in size, time and shared memory; replies go
 * through a bounded {@link OutboundQueue}, and an agent that lets it fill is closed. A closing
 * connection whose agent does not take the close frame is dropped after the close grace.
 */
public final class AgentWebSocketHandler implements WebSocketHandler {

    /** RFC 6455 "policy violation": the credentials the connection was opened with are no longer valid. */
    public static final int CLOSE_TOKEN_EXPIRED = 1008;
    /** RFC 6455 "unsupported data": a text message on a binary protocol. */
    public static final int CLOSE_TEXT_MESSAGE = 1003;
    /** RFC 6455: a close frame's reason fits in 123 bytes. */
    private static final int MAX_REASON_BYTES = 123;

    private final AgentConnection.SessionContext context;
    private final AgentConnections connections;
    private final Clock clock;
    private final ConnectionProperties limits;
    private final FragmentMemory fragmentMemory;
    private final AtomicLong outboundBytes;

    public AgentWebSocketHandler(AgentConnection.SessionContext context, AgentConnections connections, Clock clock,
                                 ConnectionProperties limits, FragmentMemory fragmentMemory, AtomicLong outboundBytes) {
        this.context = context;
        this.connections = connections;
        this.clock = clock;
        this.limits = limits;
        this.fragmentMemory = fragmentMemory;
        this.outboundBytes = outboundBytes;
    }

    @Override
    public Mono<Void> handle(WebSocketSession ws) {
        return ws.getHandshakeInfo().getPrincipal()
                .flatMap(principal -> serve(ws, principal))
                .switchIfEmpty(Mono.defer(() -> ws.close(new CloseStatus(CLOSE_TOKEN_EXPIRED, "no authenticated agent"))));
    }

    private Mono<Void> serve(WebSocketSession ws, Principal principal) {
        if (!(ws instanceof RawFrameUpgradeStrategy.RawFrameSession raw)) {
            return Mono.error(new IllegalStateException("the agent endpoint needs RawFrameUpgradeStrategy, not " + ws.getClass()));
        }
        WebsocketInbound in = raw.inbound();
        OutboundQueue outbound = new OutboundQueue(limits.outboundMaxFrames(), limits.outboundMaxBytes().toBytes(),
                outboundBytes);
        MessageAssembler assembler = new MessageAssembler(context.wireLimits().maxFrameBytes(), fragmentMemory);
        AgentConnection[] self = new AgentConnection[1];
        AgentConnection connection = new AgentConnection(principal.getName(), context, new AgentConnection.Outbound() {
            @Override
            public void send(byte[] message) {
                if (!outbound.offer(message)) {
                    self[0].closeWith(ConnectionPolicy.OUTBOUND_FULL.closeCode(), "the agent does not read: "
                            + outbound.queuedBytes() + " bytes of frames are waiting for it, the limit is "
                            + limits.outboundMaxBytes().toBytes() + " bytes or " + limits.outboundMaxFrames() + " frames");
                }
            }

            @Override
            public void close(int code, String reason) {
                outbound.complete();
                ws.close(new CloseStatus(code, shorten(reason))).subscribe(x -> { }, e -> { });
                // an agent that does not read never takes the close frame: drop the socket after the grace
                Mono.delay(limits.closeGrace()).subscribe(x -> in.withConnection(Connection::dispose));
            }
        });
        self[0] = connection;
        AgentConnections.Slot slot = raw.slot();
        if (slot == null) {
            return ws.close(new CloseStatus(CLOSE_TOKEN_EXPIRED, "no authenticated agent"));
        }
        try {
            connections.add(connection, assembler, slot);
        } catch (RuntimeException e) {
            connections.remove(connection);
            slot.release();
            throw e;
        }

        Mono<Void> input = in.receiveFrames()
                .doOnNext(frame -> receive(connection, assembler, frame))
                .then()
                .doFinally(signal -> outbound.complete());
        Mono<Void> output = ws.send(outbound.frames().map(bytes -> ws.binaryMessage(f -> f.wrap(bytes))));
        Mono<Void> expiry = tokenExpiry(principal)
                .map(at -> Mono.delay(durationUntil(at)).then(Mono.<Void>fromRunnable(
                        () -> connection.closeWith(CLOSE_TOKEN_EXPIRED, "the agent's token expired at " + at))))
                .orElse(Mono.never());
        return Mono.firstWithSignal(Mono.when(input, output), expiry.then(Mono.never()))
                .doFinally(signal -> {
                    connections.remove(connection);
                    slot.release();
                    connection.onDisconnect();
                    synchronized (assembler) {
                        assembler.release();
                    }
                })
                .then();
    }

    private void receive(AgentConnection connection, MessageAssembler assembler, WebSocketFrame frame) {
        if (frame instanceof BinaryWebSocketFrame || frame instanceof ContinuationWebSocketFrame) {
            byte[] whole;
            try {
                synchronized (assembler) {
                    whole = assembler.add(frame.content().nioBuffer(), frame instanceof ContinuationWebSocketFrame,
                            frame.isFinalFragment(), clock.millis());
                }
            } catch (MessageAssembler.Refused e) {
                connection.closeWith(e.code, e.getMessage());
                return;
            }
            if (whole != null) {
                connection.onMessage(ByteBuffer.wrap(whole));
            }
        } else if (frame instanceof TextWebSocketFrame) {
            connection.closeWith(CLOSE_TEXT_MESSAGE, "the agent protocol takes binary frames only");
        }
    }

    /** A close reason cut to what a close frame carries, on a character boundary. */
    static String shorten(String reason) {
        if (reason == null) {
            return "";
        }
        if (reason.getBytes(StandardCharsets.UTF_8).length <= MAX_REASON_BYTES) {
            return reason;
        }
        StringBuilder cut = new StringBuilder();
        int bytes = 0;
        for (int i = 0; i < reason.length(); ) {
            int cp = reason.codePointAt(i);
            int size = new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8).length;
            if (bytes + size > MAX_REASON_BYTES - 3) {
                break;
            }
            cut.appendCodePoint(cp);
            bytes += size;
            i += Character.charCount(cp);
        }
        return cut.append("...").toString();
    }

    private static java.util.Optional<Instant> tokenExpiry(Principal principal) {
        if (principal instanceof JwtAuthenticationToken jwt) {
            return java.util.Optional.ofNullable(jwt.getToken().getExpiresAt());
        }
        return java.util.Optional.empty();
    }

    private Duration durationUntil(Instant at) {
        Duration d = Duration.between(clock.instant(), at);
        return d.isNegative() ? Duration.ZERO : d;
    }
}
