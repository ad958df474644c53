package io.tandem.cloud.agent;

import io.tandem.cloud.session.AgentConnection;
import java.security.Principal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.springframework.security.oauth2.server.resource.authentication.JwtAuthenticationToken;
import org.springframework.web.reactive.socket.CloseStatus;
import org.springframework.web.reactive.socket.WebSocketHandler;
import org.springframework.web.reactive.socket.WebSocketMessage;
import org.springframework.web.reactive.socket.WebSocketSession;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * Adapts a WebFlux WebSocket to an {@link AgentConnection}: binary messages in and out, the
 * agent's identity and token expiry from the handshake's JWT. The connection closes when the
 * token expires, since the token is never looked at again after the handshake.
 */
public final class AgentWebSocketHandler implements WebSocketHandler {

    /** RFC 6455 "policy violation": the credentials the connection was opened with are no longer valid. */
    public static final int CLOSE_TOKEN_EXPIRED = 1008;
    /** RFC 6455 "unsupported data": a text message on a binary protocol. */
    public static final int CLOSE_TEXT_MESSAGE = 1003;

    private final AgentConnection.SessionContext context;
    private final AgentConnections connections;
    private final Clock clock;

    public AgentWebSocketHandler(AgentConnection.SessionContext context, AgentConnections connections, Clock clock) {
        this.context = context;
        this.connections = connections;
        this.clock = clock;
    }

    @Override
    public Mono<Void> handle(WebSocketSession ws) {
        return ws.getHandshakeInfo().getPrincipal()
                .flatMap(principal -> serve(ws, principal))
                .switchIfEmpty(Mono.defer(() -> ws.close(new CloseStatus(CLOSE_TOKEN_EXPIRED, "no authenticated agent"))));
    }

    private Mono<Void> serve(WebSocketSession ws, Principal principal) {
        Sinks.Many<byte[]> outbound = Sinks.many().unicast().onBackpressureBuffer();
        AgentConnection connection = new AgentConnection(principal.getName(), context, new AgentConnection.Outbound() {
            @Override
            public void send(byte[] message) {
                synchronized (outbound) {
                    outbound.tryEmitNext(message);
                }
            }

            @Override
            public void close(int code, String reason) {
                synchronized (outbound) {
                    outbound.tryEmitComplete();
                }
                ws.close(new CloseStatus(code, reason)).subscribe();
            }
        });
        connections.add(connection);

        Mono<Void> input = ws.receive()
                .doOnNext(message -> {
                    if (message.getType() == WebSocketMessage.Type.BINARY) {
                        byte[] bytes = new byte[message.getPayload().readableByteCount()];
                        message.getPayload().read(bytes);
                        connection.onMessage(java.nio.ByteBuffer.wrap(bytes));
                    } else if (message.getType() == WebSocketMessage.Type.TEXT) {
                        connection.closeWith(CLOSE_TEXT_MESSAGE, "the agent protocol takes binary frames only");
                    }
                })
                .then()
                .doFinally(signal -> {
                    synchronized (outbound) {
                        outbound.tryEmitComplete();
                    }
                });
        Mono<Void> output = ws.send(outbound.asFlux().map(bytes -> ws.binaryMessage(f -> f.wrap(bytes))));
        Mono<Void> expiry = tokenExpiry(principal)
                .map(at -> Mono.delay(durationUntil(at)).then(Mono.<Void>fromRunnable(
                        () -> connection.closeWith(CLOSE_TOKEN_EXPIRED, "the agent's token expired at " + at))))
                .orElse(Mono.never());
        return Mono.firstWithSignal(Mono.when(input, output), expiry.then(Mono.never()))
                .doFinally(signal -> {
                    connections.remove(connection);
                    connection.onDisconnect();
                })
                .then();
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
