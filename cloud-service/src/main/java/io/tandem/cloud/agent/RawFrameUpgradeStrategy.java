package io.tandem.cloud.agent;

import java.security.Principal;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Supplier;
import io.tandem.cloud.session.CloudMetrics;
import org.jspecify.annotations.Nullable;
import org.springframework.core.io.buffer.NettyDataBufferFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.http.server.reactive.ServerHttpResponseDecorator;
import org.springframework.web.reactive.socket.HandshakeInfo;
import org.springframework.web.reactive.socket.WebSocketHandler;
import org.springframework.web.reactive.socket.adapter.ReactorNettyWebSocketSession;
import org.springframework.web.reactive.socket.server.RequestUpgradeStrategy;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;
import reactor.netty.http.server.HttpServerResponse;
import reactor.netty.http.server.WebsocketServerSpec;
import reactor.netty.http.websocket.WebsocketInbound;
import tools.jackson.databind.json.JsonMapper;

/**
 * Upgrades as WebFlux's {@code ReactorNettyRequestUpgradeStrategy} does, but hands the handler a
 * session whose raw inbound frames it can read: WebFlux's own {@code receive()} aggregates
 * fragments without a time bound, in direct memory, which is what the cloud must not do for
 * hostile agents.
 */
final class RawFrameUpgradeStrategy implements RequestUpgradeStrategy {

    /** A Reactor Netty session that shows its inbound side, and the connection slot its handshake took. */
    static final class RawFrameSession extends ReactorNettyWebSocketSession {
        private final AgentConnections.@Nullable Slot slot;

        RawFrameSession(WebsocketInbound in, reactor.netty.http.websocket.WebsocketOutbound out, HandshakeInfo info,
                        NettyDataBufferFactory factory, int maxFramePayloadLength, AgentConnections.@Nullable Slot slot) {
            super(in, out, info, factory, maxFramePayloadLength);
            this.slot = slot;
        }

        WebsocketInbound inbound() {
            return getDelegate().getInbound();
        }

        /** The device's connection slot; null when the handshake had no authenticated agent. */
        AgentConnections.@Nullable Slot slot() {
            return slot;
        }
    }

    /** How long a device over its connection limit is told to wait: about one idle sweep of a dropped connection. */
    static final Duration RETRY_AFTER = Duration.ofSeconds(5);

    private final Supplier<WebsocketServerSpec.Builder> spec;
    private final AgentConnections connections;
    private final CloudMetrics metrics;

    RawFrameUpgradeStrategy(Supplier<WebsocketServerSpec.Builder> spec, AgentConnections connections, CloudMetrics metrics) {
        this.spec = spec;
        this.connections = connections;
        this.metrics = metrics;
    }

    @Override
    public Mono<Void> upgrade(ServerWebExchange exchange, WebSocketHandler handler, @Nullable String subProtocol,
                              Supplier<HandshakeInfo> handshakeInfoFactory) {
        ServerHttpResponse response = exchange.getResponse();
        HttpServerResponse reactorResponse = ServerHttpResponseDecorator.getNativeResponse(response);
        HandshakeInfo info = handshakeInfoFactory.get();
        NettyDataBufferFactory factory = (NettyDataBufferFactory) response.bufferFactory();
        return info.getPrincipal().map(Principal::getName).map(Optional::of).defaultIfEmpty(Optional.empty())
                .flatMap(device -> {
                    AgentConnections.Slot slot = device.map(connections::tryReserve).orElse(null);
                    if (device.isPresent() && slot == null) {
                        metrics.connectionRefused("too-many-connections");
                        return refuse(response, connections.refusal(device.get()));
                    }
                    return response.setComplete().then(Mono.defer(() -> {
                        WebsocketServerSpec built = subProtocol == null ? spec.get().build()
                                : spec.get().protocols(subProtocol).build();
                        return reactorResponse.sendWebsocket((in, out) -> handler.handle(
                                new RawFrameSession(in, out, info, factory, built.maxFramePayloadLength(), slot)), built);
                    })).doOnError(e -> release(slot)).doOnCancel(() -> release(slot));
                    // the returned Mono ends with the handshake: an error or a cancel means no handler holds the slot
                });
    }

    private static void release(AgentConnections.@Nullable Slot slot) {
        if (slot != null) {
            slot.release();
        }
    }

    /**
     * A device over its connection limit is refused at the handshake (429, problem+json, Retry-After)
     * rather than upgraded and closed, so that its agent backs off as from any refused handshake.
     */
    private static Mono<Void> refuse(ServerHttpResponse response, String detail) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(HttpStatus.TOO_MANY_REQUESTS, detail);
        problem.setTitle("Too many connections");
        response.setStatusCode(HttpStatus.TOO_MANY_REQUESTS);
        response.getHeaders().setContentType(MediaType.APPLICATION_PROBLEM_JSON);
        response.getHeaders().set(HttpHeaders.RETRY_AFTER, Long.toString(RETRY_AFTER.toSeconds()));
        byte[] body = JSON.writeValueAsBytes(problem);
        return response.writeWith(Mono.just(response.bufferFactory().wrap(body)));
    }

    private static final JsonMapper JSON = JsonMapper.builder().build();
}
