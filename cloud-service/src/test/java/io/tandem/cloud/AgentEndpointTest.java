package io.tandem.cloud;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.engine.Partitions;
import io.tandem.model.generate.FinishReason;
import io.tandem.model.runtime.KvSequence;
import io.tandem.model.runtime.StageInput;
import io.tandem.model.runtime.StageOutput;
import io.tandem.model.sampling.SamplingParams;
import io.tandem.model.wire.ActivationCodec;
import io.tandem.model.wire.Codec;
import io.tandem.model.wire.Envelope;
import io.tandem.model.wire.Frame;
import io.tandem.model.wire.Mode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The agent endpoint end to end over a real WebSocket with real JWTs: the cloud's tokens equal
 * llama2.c's own greedy ids (run.c, the golden file) in FULL mode and at every split point, many
 * sessions share one connection, and a handshake without a valid token gets no session.
 */
@CloudTest
class AgentEndpointTest extends CloudTestBase {

    private static final Partitions EDGE = new Partitions(LoadedModel.embedded(), EngineOptions.defaults());
    private static final int STEPS = 255;

    @AfterAll
    static void closeEdge() {
        EDGE.close();
    }

    static int[] goldenIds() throws IOException {
        try (InputStream in = AgentEndpointTest.class.getResourceAsStream("/io/tandem/model/golden/expected-greedy-256.tokens.txt")) {
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
            return Arrays.stream(text.split("\\s+")).mapToInt(Integer::parseInt).toArray();
        }
    }

    /** Drives one session in lockstep as an edge would: returns the ids the cloud chose. */
    private static final class Driver {
        final long id;
        final Mode mode;
        final KvSequence head;
        final List<Integer> tokens = new ArrayList<>();
        long sequence;
        int position;
        Frame.Token last;

        Driver(long id, Mode mode) {
            this.id = id;
            this.mode = mode;
            this.head = mode instanceof Mode.Split s ? EDGE.range(0, s.firstCloudLayer()).session().newSequence() : null;
        }

        void open(AgentTestClient client) {
            client.send(id, sequence++, new Frame.Open(EDGE.modelHash(), mode, SamplingParams.greedy(), STEPS));
        }

        void feed(AgentTestClient client, int... ids) {
            if (head == null) {
                client.send(id, sequence++, new Frame.Tokens(position, ids));
            } else {
                long[] longs = Arrays.stream(ids).asLongStream().toArray();
                StageOutput.Hidden hidden = (StageOutput.Hidden) head.run(new StageInput.Tokens(longs));
                FloatBuffer floats = hidden.bytes().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
                float[] values = new float[floats.remaining()];
                floats.get(values);
                client.send(id, sequence++, ActivationCodec.encode(position, values, ids.length, EDGE.config().dim(), Codec.FP32));
            }
            position += ids.length;
        }

        void accept(Frame frame) {
            assertThat(frame).as("session %d", id).isInstanceOf(Frame.Token.class);
            last = (Frame.Token) frame;
            tokens.add(last.id());
        }
    }

    @Test
    void everyModeMultiplexedOnOneConnectionReproducesRunCsGreedyIds() throws IOException {
        int[] golden = goldenIds();
        List<Driver> drivers = new ArrayList<>();
        drivers.add(new Driver(100, Mode.FULL));
        for (int k = 1; k <= 4; k++) {
            drivers.add(new Driver(k, Mode.split(k)));
        }
        try (AgentTestClient client = connect("kiosk-1")) {
            for (Driver d : drivers) {
                d.open(client);
            }
            for (Driver d : drivers) {
                d.feed(client, 1);
            }
            int opened = 0;
            while (drivers.stream().anyMatch(d -> d.tokens.size() < STEPS)) {
                Envelope e = client.receive();
                Driver d = drivers.stream().filter(x -> x.id == e.sessionId()).findFirst().orElseThrow();
                if (e.frame() instanceof Frame.Opened o) {
                    opened++;
                    int first = d.mode instanceof Mode.Split s ? s.firstCloudLayer() : 0;
                    assertThat(o.firstLayer()).isEqualTo(first);
                    assertThat(o.endLayer()).isEqualTo(5);
                    continue;
                }
                d.accept(e.frame());
                if (d.tokens.size() < STEPS) {
                    assertThat(d.last.finishReason()).isEmpty();
                    d.feed(client, d.last.id());
                }
            }
            assertThat(opened).isEqualTo(drivers.size());
            // a load report on connect, then about once a second; by now the decode steps show in it
            Envelope first = client.receiveLoad();
            assertThat(first.sessionId()).isZero();
            Frame.Load load = (Frame.Load) client.receiveLoad().frame();
            assertThat(load.stepMillis()).isPositive();
            assertThat(load.queueDepth()).isGreaterThanOrEqualTo(0);
            for (Driver d : drivers) {
                assertThat(d.tokens).as("mode %s", d.mode)
                        .containsExactlyElementsOf(Arrays.stream(golden, 1, 1 + STEPS).boxed().toList());
                assertThat(d.last.finishReason()).contains(FinishReason.MAX_TOKENS);
                assertThat(d.last.logprob()).isLessThanOrEqualTo(0f);
                assertThat(d.last.computeReported()).as("the cloud reports each step's compute time").isTrue();
                if (d.head != null) {
                    d.head.close();
                }
            }
        }
    }

    @Test
    void aPromptPrefillIsOneFrameAndItsTokenMatchesTheGolden() throws IOException {
        int[] golden = goldenIds();
        try (AgentTestClient client = connect("kiosk-2")) {
            Driver d = new Driver(7, Mode.split(2));
            d.open(client);
            d.feed(client, Arrays.copyOf(golden, 40));
            assertThat(client.receive().frame()).isInstanceOf(Frame.Opened.class);
            d.accept(client.receive().frame());
            assertThat(d.last.id()).isEqualTo(golden[40]);
            client.send(7, d.sequence++, new Frame.Cancel());
            assertThat(client.receive().frame()).isEqualTo(new Frame.Close());
        }
    }

    @Test
    void handshakesWithoutAValidTokenAreRefusedWith401() {
        TestAgentKeys keys = TestAgentKeys.TRUSTED;
        Instant now = Instant.now();
        List<String> audience = List.of(TestAgentKeys.AUDIENCE);
        assertRefused(null, 401);
        assertRefused("not-a-jwt", 401);
        assertRefused(keys.token("kiosk", TestAgentKeys.ISSUER, audience, TestAgentKeys.SCOPE,
                now.minusSeconds(7200), now.minusSeconds(3600)), 401);
        assertRefused(keys.token("kiosk", TestAgentKeys.ISSUER, List.of("someone-else"), TestAgentKeys.SCOPE,
                now, now.plusSeconds(600)), 401);
        assertRefused(TestAgentKeys.STRANGER.token("kiosk", Duration.ofMinutes(10)), 401);
        assertRefused(keys.token("kiosk", "http://other-issuer.test", audience, TestAgentKeys.SCOPE,
                now, now.plusSeconds(600)), 401);
        assertRefused(keys.token("kiosk", TestAgentKeys.ISSUER, audience, "openid profile",
                now, now.plusSeconds(600)), 403);
        assertThat(prometheus()).containsPattern("tandem_cloud_handshakes_rejected_total\\{reason=\"unauthenticated\"\\} [6-9]")
                .containsPattern("tandem_cloud_handshakes_rejected_total\\{reason=\"forbidden\"\\} [1-9]");
    }

    private void assertRefused(String token, int status) {
        assertThatThrownBy(() -> AgentTestClient.connect(port, token).close())
                .isInstanceOfSatisfying(AgentTestClient.Refused.class, r -> assertThat(r.status).isEqualTo(status));
    }

    @Test
    void theConnectionClosesWhenTheTokenExpires() {
        String shortLived = TestAgentKeys.TRUSTED.token("kiosk-3", TestAgentKeys.ISSUER, List.of(TestAgentKeys.AUDIENCE),
                TestAgentKeys.SCOPE, Instant.now(), Instant.now().plusSeconds(3));
        try (AgentTestClient client = AgentTestClient.connect(port, shortLived)) {
            WebSocketCloseStatus status = client.awaitClose(Duration.ofSeconds(15));
            assertThat(status.code()).isEqualTo(1008);
            assertThat(status.reasonText()).contains("token expired");
        }
    }

    @Test
    void metricsAndHealthDescribeTheCloud() throws Exception {
        try (AgentTestClient client = connect("kiosk-4")) {
            Driver d = new Driver(1, Mode.FULL);
            d.open(client);
            d.feed(client, 1);
            client.receive();
            d.accept(client.receive().frame());
            client.send(1, d.sequence++, new Frame.Close());
        }
        String metrics = prometheus();
        assertThat(metrics).contains("tandem_cloud_steps_total", "tandem_cloud_step_latency_seconds_count",
                "tandem_cloud_sessions ", "tandem_cloud_queue_depth",
                "tandem_cloud_frame_bytes_count{codec=\"tokens\",direction=\"in\"}",
                "tandem_cloud_frame_bytes_count{codec=\"token\",direction=\"out\"}");
        String health = get("/actuator/health");
        assertThat(health).contains("\"status\":\"UP\"").contains("stories260K");
    }

    private String prometheus() {
        return get("/actuator/prometheus");
    }

    private String get(String path) {
        try (HttpClient http = HttpClient.newHttpClient()) {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
