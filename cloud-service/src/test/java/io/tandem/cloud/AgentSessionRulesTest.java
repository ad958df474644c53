package io.tandem.cloud;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.tandem.cloud.session.SessionLimits;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.engine.Partitions;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.sampling.SamplingParams;
import io.tandem.model.wire.ActivationCodec;
import io.tandem.model.wire.Codec;
import io.tandem.model.wire.Envelope;
import io.tandem.model.wire.Frame;
import io.tandem.model.wire.FrameDecoder;
import io.tandem.model.wire.FrameEncoder;
import io.tandem.model.wire.Mode;
import io.tandem.model.wire.SessionError;
import io.tandem.model.wire.WireError;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.function.IntSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.test.context.TestPropertySource;

/**
 * The rules a session and a connection live by, over a real WebSocket: every refusal is an Error
 * frame with the exact {@link SessionError} code and a message that names the problem, and only
 * that session ends; every broken frame closes the connection with its {@link WireError} close
 * code, and a new connection works afterwards. Limits, the idle timeout and a dropped connection
 * all give the session's slot and memory back.
 *
 * <p>{@link #connect} waits until the cloud reads the new connection's frames before a test sends
 * anything. The upgrade currently runs off the event loop: the security chain's default
 * {@code WebSessionServerSecurityContextRepository} and {@code WebSessionServerRequestCache} load a
 * WebSession, which {@code InMemoryWebSessionStore} hands over on the parallel scheduler, and
 * Reactor Netty then drops a frame that arrives between the 101 response and the switch to the
 * WebSocket operations ({@code FluxReceive [terminated=true]: dropping frame}). With a stateless
 * chain (no-op security context repository and request cache) the first probe is always answered.
 */
@CloudTest
@TestPropertySource(properties = {
        "tandem.cloud.sessions.per-agent=2",
        "tandem.cloud.sessions.total=3",
        "tandem.cloud.sessions.reserved=0",
        "tandem.cloud.sessions.idle-timeout=2s",
        "tandem.cloud.agent.max-frame-bytes=" + AgentSessionRulesTest.MAX_FRAME_BYTES
})
class AgentSessionRulesTest extends CloudTestBase {

    static final int MAX_FRAME_BYTES = 65536;
    private static final String GOLDEN_HASH = "sha256:5f1c0a";
    /** The golden files' session id, 0x0102030405060708. */
    private static final long GOLDEN_SESSION = 0x0102030405060708L;

    private static final LoadedModel MODEL = LoadedModel.embedded();
    private static final LlamaConfig CONFIG = MODEL.weights().config();
    private static final String HASH = Partitions.modelHash(MODEL.sourceSha256());

    /** Session ids no test opens: a frame for them is answered with NO_SUCH_SESSION. */
    private static final long PROBE = -1;
    private static final long BARRIER = -2;

    @Autowired
    SessionLimits limits;

    /**
     * Connects, then probes until the cloud answers: probes lost before the WebSocket is bound
     * get no reply; a barrier then drains the late replies to earlier probes (frames of one
     * connection are answered in order), so the test starts on a quiet, working connection.
     */
    @Override
    AgentTestClient connect(String agent) {
        AgentTestClient client = super.connect(agent);
        try {
            int probes = 0;
            do {
                client.send(PROBE, probes++, new Frame.Tokens(0, new int[] {1}));
            } while (client.quietFor(Duration.ofMillis(300)) && probes < 20);
            assertThat(probes).as("probes sent before the cloud read one").isLessThan(20);
            if (probes > 1) {
                System.err.println("AgentSessionRulesTest: " + (probes - 1) + " frame(s) right after the handshake of "
                        + agent + " got no reply (dropped before the WebSocket was bound)");
            }
            client.send(BARRIER, 0, new Frame.Tokens(0, new int[] {1}));
            while (client.receive().sessionId() != BARRIER) {
                // a late reply to an earlier probe
            }
            return client;
        } catch (InterruptedException e) {
            client.close();
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (RuntimeException | AssertionError e) {
            client.close();
            throw e;
        }
    }

    @BeforeEach
    void noSessionLeftOver() {
        awaitOpenSessions(0);
    }

    // ---------------------------------------------------------------- 1. golden frames

    @Test
    void theGoldenOpenNamesAModelThisCloudDoesNotServeAndTheConnectionStaysUsable() {
        try (AgentTestClient client = connect("golden")) {
            client.sendRaw(golden("open-full.bin"));
            Envelope refusal = client.receive();
            assertThat(refusal.sessionId()).isEqualTo(GOLDEN_SESSION);
            assertError(refusal, SessionError.UNKNOWN_MODEL, GOLDEN_HASH, HASH);
            awaitOpenSessions(0);

            // The same connection serves a valid session right after.
            open(client, 1, Mode.FULL);
            client.send(1, 1, new Frame.Tokens(0, new int[] {1}));
            Envelope token = client.receive();
            assertThat(token.sessionId()).isEqualTo(1);
            assertThat(token.sequence()).isEqualTo(1);
            assertThat(token.frame()).isInstanceOf(Frame.Token.class);
            client.send(1, 2, new Frame.Close());
        }
        awaitOpenSessions(0);
    }

    @Test
    void theGoldenFramesTheCloudSendsParseOnTheEdge() {
        FrameDecoder edge = new FrameDecoder();
        assertThat(edge.decode(golden("opened.bin")))
                .isEqualTo(new Envelope(GOLDEN_SESSION, 0, new Frame.Opened(2, 5, GOLDEN_HASH)));
        assertThat(edge.decode(golden("token.bin")))
                .isEqualTo(new Envelope(GOLDEN_SESSION, 2, new Frame.Token(365, -0.25f)));
        // And what the cloud would write for them to a version 1 agent is exactly those bytes.
        assertThat(FrameEncoder.encodeToArray(new Envelope(GOLDEN_SESSION, 2, new Frame.Token(365, -0.25f)), 1))
                .isEqualTo(golden("token.bin"));
    }

    // ---------------------------------------------------------------- 2. session rules

    @Test
    void eachBrokenRuleEndsOnlyItsSessionWithTheRightCode() throws InterruptedException {
        try (AgentTestClient client = connect("rules")) {
            // A split that leaves the cloud no layer.
            client.send(10, 0, new Frame.Open(HASH, Mode.split(CONFIG.layers()), SamplingParams.greedy(), 8));
            assertError(client.receive(), SessionError.BAD_MODE, "split layer " + CONFIG.layers(),
                    CONFIG.layers() + " layers");
            awaitOpenSessions(0);

            // Activations narrower than the model.
            open(client, 11, Mode.split(2));
            int wrongWidth = CONFIG.dim() - 1;
            client.send(11, 1, ActivationCodec.encode(0, new float[wrongWidth], 1, wrongWidth, Codec.FP32));
            assertError(client.receive(), SessionError.BAD_INPUT,
                    "activations are " + wrongWidth + " wide", "takes " + CONFIG.dim());
            awaitOpenSessions(0);

            // Tokens to a SPLIT session.
            open(client, 12, Mode.split(2));
            client.send(12, 1, new Frame.Tokens(0, new int[] {1}));
            assertError(client.receive(), SessionError.BAD_INPUT, "send Activations, not Tokens");
            awaitOpenSessions(0);

            // A position gap: one position so far, the next frame claims to start at 5.
            open(client, 13, Mode.FULL);
            client.send(13, 1, new Frame.Tokens(0, new int[] {1}));
            assertThat(client.receive().frame()).isInstanceOf(Frame.Token.class);
            client.send(13, 2, new Frame.Tokens(5, new int[] {1}));
            assertError(client.receive(), SessionError.BAD_INPUT, "starts at position 5", "has 1 positions");
            awaitOpenSessions(0);

            // A sequence gap: 2 where 1 is next.
            open(client, 14, Mode.FULL);
            client.send(14, 2, new Frame.Tokens(0, new int[] {1}));
            assertError(client.receive(), SessionError.BAD_INPUT, "sequence 2 where 1 was next");
            awaitOpenSessions(0);

            // A frame for a session never opened.
            client.send(99, 0, new Frame.Tokens(0, new int[] {1}));
            Envelope unknown = client.receive();
            assertThat(unknown.sessionId()).isEqualTo(99);
            assertError(unknown, SessionError.NO_SUCH_SESSION, "no open session 99");

            // A second Open with the id of a session that is open: refused, the first one unharmed.
            open(client, 15, Mode.FULL);
            client.send(15, 1, new Frame.Open(HASH, Mode.FULL, SamplingParams.greedy(), 8));
            Envelope again = client.receive();
            assertThat(again.sessionId()).isEqualTo(15);
            assertError(again, SessionError.NO_SUCH_SESSION, "session 15 is already open");
            client.send(15, 1, new Frame.Tokens(0, new int[] {1}));
            Envelope token = client.receive();
            assertThat(token.sessionId()).isEqualTo(15);
            assertThat(token.frame()).isInstanceOf(Frame.Token.class);

            // Cancel is answered with Close, and the session is gone.
            client.send(15, 2, new Frame.Cancel());
            Envelope closed = client.receive();
            assertThat(closed.sessionId()).isEqualTo(15);
            assertThat(closed.frame()).isEqualTo(new Frame.Close());
            awaitOpenSessions(0);

            // Close and Cancel for sessions that do not exist (any more) are not answered.
            client.send(77, 0, new Frame.Close());
            client.send(78, 0, new Frame.Cancel());
            client.send(15, 3, new Frame.Close());
            assertThat(client.quietFor(Duration.ofMillis(300))).as("no reply to Close/Cancel of unknown sessions").isTrue();

            // Through all of it the connection stayed up.
            open(client, 16, Mode.FULL);
            client.send(16, 1, new Frame.Close());
        }
        awaitOpenSessions(0);
    }

    // ---------------------------------------------------------------- 3. limits

    @Test
    void sessionsAreLimitedPerAgentAndInTotalAndFreedSlotsCanBeTakenAgain() {
        try (AgentTestClient a = connect("fleet-a"); AgentTestClient b = connect("fleet-b")) {
            open(a, 1, Mode.FULL);
            open(a, 2, Mode.FULL);
            a.send(3, 0, new Frame.Open(HASH, Mode.FULL, SamplingParams.greedy(), 8));
            assertError(a.receive(), SessionError.SESSION_LIMIT, "agent fleet-a has 2 sessions open");
            assertThat(limits.open()).isEqualTo(2);

            // Another agent still gets a session, up to the cloud's total of 3.
            open(b, 1, Mode.FULL);
            b.send(2, 0, new Frame.Open(HASH, Mode.FULL, SamplingParams.greedy(), 8));
            assertError(b.receive(), SessionError.SESSION_LIMIT, "the cloud has 3 sessions open");
            assertThat(limits.open()).isEqualTo(3);

            // Closing one frees its slot (asynchronously): the refused agent's Open then works. (A fresh
            // id: a refused session leaves the connection's map only after its Error is sent.)
            a.send(1, 1, new Frame.Close());
            awaitOpenSessions(2);
            open(b, 3, Mode.FULL);
            // And agent a may take its second slot back too, once the total allows it.
            b.send(1, 1, new Frame.Close());
            awaitOpenSessions(2);
            open(a, 4, Mode.FULL);
            assertThat(limits.open()).isEqualTo(3);

            a.send(2, 1, new Frame.Close());
            a.send(4, 1, new Frame.Close());
            b.send(3, 1, new Frame.Close());
        }
        awaitOpenSessions(0);
    }

    // ---------------------------------------------------------------- 4. idle timeout

    @Test
    void anIdleSessionTimesOutAndGivesItsSlotBack() throws InterruptedException {
        try (AgentTestClient client = connect("idler")) {
            long start = System.nanoTime();
            open(client, 1, Mode.FULL);
            Envelope timeout = client.receive();
            long elapsedMs = (System.nanoTime() - start) / 1_000_000;
            assertThat(timeout.sessionId()).isEqualTo(1);
            assertError(timeout, SessionError.IDLE_TIMEOUT, "no frame for 2 s");
            assertThat(elapsedMs).as("ms until the idle timeout").isBetween(1900L, 6000L);
            awaitOpenSessions(0);

            // The session is gone: its next frame is for no session, and its id can be opened afresh.
            client.send(1, 1, new Frame.Tokens(0, new int[] {1}));
            assertError(client.receive(), SessionError.NO_SUCH_SESSION, "no open session 1");
            open(client, 1, Mode.FULL);
            client.send(1, 1, new Frame.Close());
            assertThat(client.quietFor(Duration.ofMillis(100))).isTrue();
        }
        awaitOpenSessions(0);
        assertThat(prometheus()).containsPattern("tandem_cloud_sessions_ended_total\\{reason=\"idle_timeout\"\\} [1-9]");
    }

    // ---------------------------------------------------------------- 5. connection errors

    @Test
    void brokenFramesCloseTheConnectionWithTheirCode() {
        // Garbage: not a Tandem frame at all.
        byte[] garbage = new byte[100];
        new Random(42).nextBytes(garbage);
        garbage[0] = 0;
        assertClosesWith(client -> client.sendRaw(garbage), WireError.BAD_MAGIC.closeCode(), "not a Tandem frame");
        assertThat(WireError.BAD_MAGIC.closeCode()).isEqualTo(1002);

        // A Tandem frame of a version this build does not speak (byte 4 of the header).
        byte[] version3 = golden("close.bin");
        version3[4] = 3;
        assertClosesWith(client -> client.sendRaw(version3), 4001, "version 3, this build speaks 1 to 2");
        assertThat(WireError.UNSUPPORTED_VERSION.closeCode()).isEqualTo(4001);

        // A text message on the binary protocol.
        assertClosesWith(client -> client.sendText("{\"hello\":\"cloud\"}"), 1003, "binary frames only");

        // More token ids than the decoder takes in one frame (the message itself is within the frame cap).
        assertClosesWith(client -> client.send(1, 0, new Frame.Tokens(0, new int[5000])),
                WireError.TOO_LARGE.closeCode(), "5000 token ids exceed");

        // A message over tandem.cloud.agent.max-frame-bytes: Netty refuses it before the decoder sees it.
        byte[] huge = Arrays.copyOf(golden("close.bin"), MAX_FRAME_BYTES + 1);
        WebSocketCloseStatus status = closeStatusAfter(client -> client.sendRaw(huge));
        assertThat(status.code()).as("close code (reason: %s)", status.reasonText())
                .isEqualTo(WireError.TOO_LARGE.closeCode()).isEqualTo(1009);
        assertUsable();
    }

    // ---------------------------------------------------------------- 6. dropped connection

    @Test
    void aDroppedConnectionFreesItsSessions() {
        AgentTestClient client = connect("dropper");
        open(client, 1, Mode.FULL);
        open(client, 2, Mode.split(2));
        client.send(1, 1, new Frame.Tokens(0, new int[] {1}));
        assertThat(client.receive().frame()).isInstanceOf(Frame.Token.class);
        assertThat(gauge("tandem_cloud_sessions")).isEqualTo(2.0);

        client.close(); // no close frame: the TCP connection just goes away
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (gauge("tandem_cloud_sessions") != 0.0 && System.nanoTime() < deadline) {
            sleep(25);
        }
        assertThat(gauge("tandem_cloud_sessions")).as("tandem_cloud_sessions after the drop").isEqualTo(0.0);
        assertThat(limits.open()).isZero();
        await(() -> (int) gauge("tandem_cloud_connections"), 0, "tandem_cloud_connections");
    }

    // ---------------------------------------------------------------- helpers

    private interface Action {
        void on(AgentTestClient client);
    }

    private WebSocketCloseStatus closeStatusAfter(Action action) {
        try (AgentTestClient client = connect("breaker")) {
            open(client, 500, Mode.FULL);
            action.on(client);
            WebSocketCloseStatus status = client.awaitClose(Duration.ofSeconds(5));
            assertThat(status).as("close status").isNotNull();
            return status;
        } finally {
            awaitOpenSessions(0);
        }
    }

    private void assertClosesWith(Action action, int code, String reason) {
        WebSocketCloseStatus status = closeStatusAfter(action);
        assertThat(status.code()).as("close code (reason: %s)", status.reasonText()).isEqualTo(code);
        assertThat(status.reasonText()).contains(reason);
        assertUsable();
    }

    /** A fresh connection serves a session. */
    private void assertUsable() {
        try (AgentTestClient client = connect("after-close")) {
            open(client, 1, Mode.FULL);
            client.send(1, 1, new Frame.Tokens(0, new int[] {1}));
            assertThat(client.receive().frame()).isInstanceOf(Frame.Token.class);
            client.send(1, 2, new Frame.Close());
        }
        awaitOpenSessions(0);
    }

    private static void open(AgentTestClient client, long session, Mode mode) {
        client.send(session, 0, new Frame.Open(HASH, mode, SamplingParams.greedy(), 64));
        Envelope reply = client.receive();
        assertThat(reply.sessionId()).as("reply's session").isEqualTo(session);
        assertThat(reply.frame()).as("reply to Open of session %d", session).isInstanceOf(Frame.Opened.class);
        Frame.Opened opened = (Frame.Opened) reply.frame();
        assertThat(opened.firstLayer()).isEqualTo(mode instanceof Mode.Split s ? s.firstCloudLayer() : 0);
        assertThat(opened.endLayer()).isEqualTo(CONFIG.layers());
    }

    private static void assertError(Envelope envelope, SessionError error, String... named) {
        assertThat(envelope.frame()).as("frame for session %d", envelope.sessionId()).isInstanceOf(Frame.Error.class);
        Frame.Error e = (Frame.Error) envelope.frame();
        assertThat(SessionError.of(e.code())).as("error code of \"%s\"", e.message()).isEqualTo(error);
        assertThat(e.code()).isEqualTo(error.code());
        assertThat(e.message()).contains(named);
    }

    private void awaitOpenSessions(int expected) {
        await(limits::open, expected, "open sessions");
    }

    private static void await(IntSupplier value, int expected, String what) {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (value.getAsInt() != expected && System.nanoTime() < deadline) {
            sleep(10);
        }
        assertThat(value.getAsInt()).as(what).isEqualTo(expected);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static byte[] golden(String name) {
        try (InputStream in = AgentSessionRulesTest.class.getResourceAsStream("/io/tandem/model/wire/" + name)) {
            assertThat(in).as("golden frame %s on the classpath", name).isNotNull();
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private double gauge(String name) {
        Matcher m = Pattern.compile("(?m)^" + name + "(?:\\{[^}]*})? (\\S+)$").matcher(prometheus());
        assertThat(m.find()).as("%s in /actuator/prometheus", name).isTrue();
        return Double.parseDouble(m.group(1));
    }

    private String prometheus() {
        try (HttpClient http = HttpClient.newHttpClient()) {
            return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/prometheus")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}
