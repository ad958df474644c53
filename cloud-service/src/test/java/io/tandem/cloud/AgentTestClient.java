package io.tandem.cloud;

import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.tandem.model.wire.Envelope;
import io.tandem.model.wire.Frame;
import io.tandem.model.wire.FrameDecoder;
import io.tandem.model.wire.FrameEncoder;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import reactor.core.Disposable;
import reactor.core.publisher.Sinks;
import reactor.netty.http.client.HttpClient;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshakeException;
import reactor.netty.http.client.WebsocketClientSpec;

/** A blocking agent for tests: raw frames over a real WebSocket, as plain as the protocol. */
final class AgentTestClient implements AutoCloseable {

    /** The handshake was refused with this HTTP status. */
    static final class Refused extends RuntimeException {
        final int status;
        final io.netty.handler.codec.http.HttpHeaders headers;

        Refused(io.netty.handler.codec.http.HttpResponse response) {
            super("handshake refused with HTTP " + response.status().code());
            this.status = response.status().code();
            this.headers = response.headers();
        }
    }

    private final BlockingQueue<byte[]> received = new LinkedBlockingQueue<>();
    private final BlockingQueue<byte[]> loads = new LinkedBlockingQueue<>();
    private final Sinks.Many<WebSocketFrame> outbound = Sinks.many().unicast().onBackpressureBuffer();
    private final CompletableFuture<WebSocketCloseStatus> closed = new CompletableFuture<>();
    private final FrameDecoder decoder = new FrameDecoder();
    private final Disposable connection;

    private AgentTestClient(String url, String token, CompletableFuture<Void> connected) {
        HttpClient client = HttpClient.create().headers(h -> {
            if (token != null) {
                h.set(HttpHeaderNames.AUTHORIZATION, "Bearer " + token);
            }
        });
        connection = client.websocket(WebsocketClientSpec.builder().maxFramePayloadLength(128 << 20).build())
                .uri(url)
                .handle((in, out) -> {
                    connected.complete(null);
                    in.receiveCloseStatus().subscribe(closed::complete);
                    in.aggregateFrames(128 << 20).receiveFrames()
                            .doOnNext(f -> {
                                if (f instanceof BinaryWebSocketFrame) {
                                    byte[] bytes = ByteBufUtil.getBytes(f.content());
                                    // Load reports arrive on their own schedule: kept apart, so that
                                    // tests read their sessions' frames in order
                                    (isLoad(bytes) ? loads : received).add(bytes);
                                }
                            })
                            .doOnComplete(() -> closed.complete(null))
                            .subscribe();
                    return out.sendObject(outbound.asFlux()).neverComplete();
                })
                .subscribe(x -> { }, e -> {
                    connected.completeExceptionally(e);
                    closed.complete(null);
                });
    }

    static AgentTestClient connect(int port, String token) {
        CompletableFuture<Void> connected = new CompletableFuture<>();
        AgentTestClient client = new AgentTestClient("ws://127.0.0.1:" + port + "/v1/agent", token, connected);
        try {
            connected.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            client.close();
            if (e.getCause() instanceof WebSocketClientHandshakeException h) {
                throw new Refused(h.response());
            }
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException | TimeoutException e) {
            client.close();
            throw new IllegalStateException("no connection within 10 s", e);
        }
        return client;
    }

    void send(long session, long sequence, Frame frame) {
        sendRaw(FrameEncoder.encodeToArray(new Envelope(session, sequence, frame)));
    }

    /** As a version 1 agent (a build from before streaming) sends it. */
    void sendVersion1(long session, long sequence, Frame frame) {
        sendRaw(FrameEncoder.encodeToArray(new Envelope(session, sequence, frame), 1));
    }

    synchronized void sendRaw(byte[] bytes) {
        outbound.tryEmitNext(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(bytes)));
    }

    /** Any frame, e.g. one fragment of a message. */
    synchronized void sendFrame(WebSocketFrame frame) {
        outbound.tryEmitNext(frame);
    }

    synchronized void sendText(String text) {
        outbound.tryEmitNext(new TextWebSocketFrame(text));
    }

    Envelope receive() {
        return decoder.decode(receiveRaw());
    }

    /** The next session frame's bytes as they came. */
    byte[] receiveRaw() {
        try {
            byte[] bytes = received.poll(20, TimeUnit.SECONDS);
            if (bytes == null) {
                throw new AssertionError("no frame from the cloud within 20 s (closed: " + closed.getNow(null) + ")");
            }
            return bytes;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The next Load report's bytes as they came. */
    byte[] receiveLoadRaw() {
        try {
            byte[] bytes = loads.poll(20, TimeUnit.SECONDS);
            if (bytes == null) {
                throw new AssertionError("no Load frame from the cloud within 20 s");
            }
            return bytes;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static boolean isLoad(byte[] frame) {
        return frame.length > 5 && frame[5] == (byte) io.tandem.model.wire.FrameType.LOAD.wireCode();
    }

    /** The next Load report from the cloud. */
    Envelope receiveLoad() {
        try {
            byte[] bytes = loads.poll(20, TimeUnit.SECONDS);
            if (bytes == null) {
                throw new AssertionError("no Load frame from the cloud within 20 s");
            }
            return decoder.decode(bytes);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Nothing more arrives within {@code wait}. */
    boolean quietFor(Duration wait) throws InterruptedException {
        return received.poll(wait.toMillis(), TimeUnit.MILLISECONDS) == null;
    }

    boolean isClosed() {
        return closed.isDone();
    }

    WebSocketCloseStatus awaitClose(Duration timeout) {
        try {
            return closed.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException | ExecutionException | TimeoutException e) {
            throw new AssertionError("the cloud did not close the connection within " + timeout, e);
        }
    }

    @Override
    public void close() {
        connection.dispose();
    }
}
