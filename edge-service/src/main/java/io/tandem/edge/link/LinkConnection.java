package io.tandem.edge.link;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshakeException;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.tandem.model.wire.Envelope;
import io.tandem.model.wire.Frame;
import io.tandem.model.wire.FrameDecoder;
import io.tandem.model.wire.FrameEncoder;
import io.tandem.model.wire.WireException;
import io.tandem.model.wire.WireLimits;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.ObjIntConsumer;
import reactor.core.Disposable;
import reactor.core.publisher.Sinks;
import reactor.netty.http.client.HttpClient;
import reactor.netty.http.client.WebsocketClientSpec;

/**
 * One WebSocket to the cloud carrying many sessions: frames out through one ordered sink, frames
 * in routed by session id. When it closes, for whatever reason, every session on it hears so.
 */
final class LinkConnection {

    private final Sinks.Many<WebSocketFrame> outbound = Sinks.many().unicast().onBackpressureBuffer();
    private final ConcurrentHashMap<Long, RemoteSession> sessions = new ConcurrentHashMap<>();
    private final CompletableFuture<String> closed = new CompletableFuture<>();
    private final FrameDecoder decoder;
    private final ObjIntConsumer<String> bytesSent;
    private final Consumer<Frame.Load> loads;
    private Disposable connection;

    private LinkConnection(WireLimits limits, ObjIntConsumer<String> bytesSent, Consumer<Frame.Load> loads) {
        this.decoder = new FrameDecoder(limits);
        this.bytesSent = bytesSent;
        this.loads = loads;
    }

    /** Connects with {@code token} as the bearer; blocks up to {@code timeout}. */
    static LinkConnection connect(URI url, String token, WireLimits limits, Duration timeout,
                                  ObjIntConsumer<String> bytesSent, Consumer<Frame.Load> loads) {
        LinkConnection link = new LinkConnection(limits, bytesSent, loads);
        CompletableFuture<Void> connected = new CompletableFuture<>();
        link.connection = HttpClient.create()
                .responseTimeout(timeout)
                .headers(h -> h.set(HttpHeaderNames.AUTHORIZATION, "Bearer " + token))
                .websocket(WebsocketClientSpec.builder().maxFramePayloadLength(limits.maxFrameBytes()).build())
                .uri(url)
                .handle((in, out) -> {
                    connected.complete(null);
                    in.receiveCloseStatus().subscribe(status -> link.lost("the cloud closed the link ("
                            + status.code() + " " + status.reasonText() + ")"));
                    in.aggregateFrames(limits.maxFrameBytes()).receiveFrames()
                            .doOnNext(f -> {
                                if (f instanceof BinaryWebSocketFrame) {
                                    link.receive(ByteBufUtil.getBytes(f.content()));
                                }
                            })
                            .doOnComplete(() -> link.lost("the link to the cloud closed"))
                            .doOnError(e -> link.lost("the link to the cloud failed: " + e.getMessage()))
                            .subscribe();
                    return out.sendObject(link.outbound.asFlux()).then();
                })
                .subscribe(x -> { }, e -> {
                    connected.completeExceptionally(e);
                    link.lost("the link to the cloud failed: " + e.getMessage());
                }, () -> link.lost("the link to the cloud closed"));
        try {
            connected.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return link;
        } catch (ExecutionException e) {
            link.dispose();
            Throwable cause = e.getCause();
            if (cause instanceof WebSocketClientHandshakeException h && h.response() != null) {
                int status = h.response().status().code();
                if (status == 429 || status == 503) {
                    Duration retryAfter = retryAfter(h.response().headers().get("Retry-After"));
                    throw new LinkException("the cloud refused the handshake with HTTP " + status
                            + (status == 429 ? " (this device has its maximum of connections open)" : " (unavailable)")
                            + (retryAfter == null ? "" : "; it asks to retry after " + retryAfter.toSeconds() + " s"),
                            cause, retryAfter);
                }
                throw new LinkException("the cloud refused the handshake with HTTP " + status
                        + " (check the agent's token: issuer, audience, scope)", cause);
            }
            throw new LinkException("cannot reach the cloud at " + url + ": " + cause.getMessage(), cause);
        } catch (TimeoutException e) {
            link.dispose();
            throw new LinkException("the cloud at " + url + " did not answer within " + timeout.toMillis() + " ms", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            link.dispose();
            throw new LinkException("interrupted while connecting to the cloud", e);
        }
    }

    /** A Retry-After in seconds (the form the cloud sends); null when absent or not a number of seconds. */
    static Duration retryAfter(String header) {
        if (header == null || !header.trim().matches("\\d{1,9}")) {
            return null;
        }
        return Duration.ofSeconds(Long.parseLong(header.trim()));
    }

    boolean isOpen() {
        return !closed.isDone();
    }

    /** Why the connection closed, once it has. */
    String closeReason() {
        return closed.getNow(null);
    }

    int sessions() {
        return sessions.size();
    }

    void register(RemoteSession session) {
        sessions.put(session.id(), session);
        if (!isOpen()) {
            session.linkLost(closeReason());
        }
    }

    void unregister(RemoteSession session) {
        sessions.remove(session.id(), session);
    }

    int send(long sessionId, long sequence, Frame frame, String kind) {
        if (!isOpen()) {
            throw new LinkException(closeReason());
        }
        byte[] bytes = FrameEncoder.encodeToArray(new Envelope(sessionId, sequence, frame));
        Sinks.EmitResult result;
        synchronized (outbound) {
            result = outbound.tryEmitNext(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(bytes)));
        }
        if (result.isFailure()) {
            throw new LinkException("the link to the cloud is closing");
        }
        bytesSent.accept(kind, bytes.length);
        return bytes.length;
    }

    private void receive(byte[] message) {
        Envelope envelope;
        try {
            envelope = decoder.decode(message);
        } catch (WireException e) {
            close(e.closeCode(), "bad frame from the cloud: " + e.getMessage());
            return;
        }
        if (envelope.frame() instanceof Frame.Load load) {
            loads.accept(load);
            return;
        }
        RemoteSession session = sessions.get(envelope.sessionId());
        if (session != null) {
            session.deliver(envelope.frame());
        }
    }

    void close(int code, String reason) {
        synchronized (outbound) {
            outbound.tryEmitNext(new CloseWebSocketFrame(code, reason));
            outbound.tryEmitComplete();
        }
        lost(reason);
    }

    private void lost(String reason) {
        if (closed.complete(reason)) {
            sessions.values().forEach(s -> s.linkLost(reason));
            dispose();
        }
    }

    private void dispose() {
        if (connection != null) {
            connection.dispose();
        }
    }
}
