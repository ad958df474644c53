package io.tandem.edge.link;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBufUtil;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.tandem.model.sampling.SamplingParams;
import io.tandem.model.wire.Delivery;
import io.tandem.model.wire.Frame;
import io.tandem.model.wire.FrameDecoder;
import io.tandem.model.wire.Mode;
import io.tandem.model.wire.WireException;
import io.tandem.model.wire.WireLimits;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

/**
 * This edge against a cloud of a version 1 build, which decodes strictly and closes a connection
 * on a frame it cannot read with that error's close code (exactly what AgentConnection of that
 * build does): the edge's first frame is refused with 4001 and a reason that names both versions,
 * the session fails with a LinkException that says so (so the answer falls back locally with that
 * warning), and the link's last error keeps it for health.
 */
class OlderCloudTest {

    @Test
    void aVersionOneCloudRefusesWithACloseReasonTheEdgeReports() {
        FrameDecoder versionOne = new FrameDecoder(WireLimits.DEFAULT, 1);
        DisposableServer oldCloud = HttpServer.create().host("127.0.0.1").port(0)
                .route(routes -> routes.ws("/v1/agent", (in, out) -> out.sendObject(in.receiveFrames()
                        .filter(f -> f instanceof BinaryWebSocketFrame)
                        .map(f -> ByteBufUtil.getBytes(f.content()))
                        .concatMap(bytes -> {
                            try {
                                versionOne.decode(bytes);
                                return Mono.<Object>empty();
                            } catch (WireException e) {
                                return Flux.<Object>just(new CloseWebSocketFrame(e.closeCode(), e.getMessage()));
                            }
                        }))))
                .bindNow();
        CloudLink link = new CloudLink(URI.create("ws://127.0.0.1:" + oldCloud.port() + "/v1/agent"),
                () -> new CloudLink.AgentToken("token", Instant.now().plusSeconds(600)), WireLimits.DEFAULT,
                Duration.ofSeconds(5), Duration.ofMillis(500), Duration.ofSeconds(5), Clock.systemUTC(), (k, b) -> { });
        try {
            RemoteSession session = link.openSession();
            session.send(new Frame.Open("sha256:x", Mode.FULL, SamplingParams.greedy(), 5, Delivery.STREAM, 8,
                    new int[] {2}), "control");
            assertThatThrownBy(() -> session.next().block(Duration.ofSeconds(10)))
                    .isInstanceOf(LinkException.class)
                    .hasMessageContaining("4001")
                    .hasMessageContaining("UNSUPPORTED_VERSION: version 2, this build speaks 1");
            assertThat(link.state()).isEqualTo(CloudLink.State.DOWN);
        } finally {
            link.close();
            oldCloud.disposeNow();
        }
    }
}
