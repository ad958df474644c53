package io.tandem.cloud.agent;

import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.springframework.core.io.buffer.NettyDataBufferFactory;
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

/**
 * Upgrades as WebFlux's {@code ReactorNettyRequestUpgradeStrategy} does, but hands the handler a
 * session whose raw inbound frames it can read: WebFlux's own {@code receive()} aggregates
 * fragments without a time bound, in direct memory, which is what the cloud must not do for
 * hostile agents.
 */
final class RawFrameUpgradeStrategy implements RequestUpgradeStrategy {

    /** A Reactor Netty session that shows its inbound side. */
    static final class RawFrameSession extends ReactorNettyWebSocketSession {
        RawFrameSession(WebsocketInbound in, reactor.netty.http.websocket.WebsocketOutbound out, HandshakeInfo info,
                        NettyDataBufferFactory factory, int maxFramePayloadLength) {
            super(in, out, info, factory, maxFramePayloadLength);
        }

        WebsocketInbound inbound() {
            return getDelegate().getInbound();
        }
    }

    private final Supplier<WebsocketServerSpec.Builder> spec;

    RawFrameUpgradeStrategy(Supplier<WebsocketServerSpec.Builder> spec) {
        this.spec = spec;
    }

    @Override
    public Mono<Void> upgrade(ServerWebExchange exchange, WebSocketHandler handler, @Nullable String subProtocol,
                              Supplier<HandshakeInfo> handshakeInfoFactory) {
        ServerHttpResponse response = exchange.getResponse();
        HttpServerResponse reactorResponse = ServerHttpResponseDecorator.getNativeResponse(response);
        HandshakeInfo info = handshakeInfoFactory.get();
        NettyDataBufferFactory factory = (NettyDataBufferFactory) response.bufferFactory();
        return response.setComplete().then(Mono.defer(() -> {
            WebsocketServerSpec built = subProtocol == null ? spec.get().build() : spec.get().protocols(subProtocol).build();
            return reactorResponse.sendWebsocket((in, out) -> handler.handle(
                    new RawFrameSession(in, out, info, factory, built.maxFramePayloadLength())), built);
        }));
    }
}
