package io.tandem.cloud;

import static org.assertj.core.api.Assertions.assertThat;

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
import io.tandem.model.wire.Delivery;
import io.tandem.model.wire.Envelope;
import io.tandem.model.wire.Frame;
import io.tandem.model.wire.Mode;
import io.tandem.model.wire.SessionError;
import io.tandem.model.wire.WireFormat;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Protocol version 2 sessions against llama2.c's greedy ids (run.c's golden): a STREAM session
 * decodes on its own within its credits, stops at an end token, and frees its KV cache on Cancel;
 * a VERIFY session accepts the golden prefix of a draft, corrects the first wrong token and rolls
 * its cache back, in FULL and SPLIT mode; a version 1 agent is answered in version 1.
 */
@CloudTest
class StreamAndVerifyTest extends CloudTestBase {

    private static final Partitions EDGE = new Partitions(LoadedModel.embedded(), EngineOptions.defaults());

    @AfterAll
    static void closeEdge() {
        EDGE.close();
    }

    private static Frame.Open stream(int maxTokens, int credits, int... endTokens) {
        return new Frame.Open(EDGE.modelHash(), Mode.FULL, SamplingParams.greedy(), maxTokens, Delivery.STREAM, credits,
                endTokens);
    }

    @Test
    void aStreamSendsTheGreedyIdsOnItsOwnAndNeverMoreThanItsCredits() throws Exception {
        int[] golden = AgentEndpointTest.goldenIds();
        try (AgentTestClient client = connect("stream-1")) {
            double stepsBefore = metric("tandem_cloud_stream_tokens_total");
            client.send(1, 0, stream(40, 8));
            client.send(1, 1, new Frame.Tokens(0, new int[] {1}));
            assertThat(client.receive().frame()).isInstanceOf(Frame.Opened.class);
            List<Integer> ids = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                ids.add(((Frame.Token) client.receive().frame()).id());
            }
            // a stalled edge: it grants nothing more, and the cloud neither sends nor computes more
            assertThat(client.quietFor(Duration.ofMillis(700))).isTrue();
            assertThat(metric("tandem_cloud_stream_tokens_total") - stepsBefore).isEqualTo(8.0);
            client.send(1, 2, new Frame.Credit(100));
            Frame.Token last = null;
            for (int i = 8; i < 40; i++) {
                last = (Frame.Token) client.receive().frame();
                assertThat(last.computeReported()).isTrue();
                ids.add(last.id());
            }
            assertThat(last.finishReason()).contains(FinishReason.MAX_TOKENS);
            assertThat(ids).containsExactlyElementsOf(Arrays.stream(golden, 1, 41).boxed().toList());
            assertThat(client.quietFor(Duration.ofMillis(200))).isTrue();
        }
    }

    @Test
    void aStreamStopsAtAnEndTokenTheEdgeNamed() throws Exception {
        int[] golden = AgentEndpointTest.goldenIds();
        try (AgentTestClient client = connect("stream-2")) {
            client.send(2, 0, stream(100, 64, golden[6]));
            client.send(2, 1, new Frame.Tokens(0, new int[] {1}));
            client.receive();
            Frame.Token token;
            int count = 0;
            do {
                token = (Frame.Token) client.receive().frame();
                count++;
            } while (token.finishReason().isEmpty());
            assertThat(token.id()).isEqualTo(golden[6]);
            assertThat(token.finishReason()).contains(FinishReason.END_OF_SEQUENCE);
            assertThat(count).isEqualTo(Arrays.stream(golden, 1, 7).boxed().toList().indexOf(golden[6]) + 1);
        }
    }

    @Test
    void cancelEndsTheStreamAndFreesItsCache() throws Exception {
        try (AgentTestClient client = connect("stream-3")) {
            double cancelledBefore = metric("tandem_cloud_sessions_ended_total{reason=\"cancelled\"}");
            client.send(3, 0, stream(400, 1000));
            client.send(3, 1, new Frame.Tokens(0, new int[] {1}));
            client.receive();
            for (int i = 0; i < 5; i++) {
                assertThat(client.receive().frame()).isInstanceOf(Frame.Token.class);
            }
            assertThat(metric("tandem_cloud_kv_positions")).isPositive();
            client.send(3, 2, new Frame.Cancel());
            int afterCancel = 0;
            Frame frame;
            while ((frame = client.receive().frame()) instanceof Frame.Token) {
                afterCancel++;
            }
            assertThat(frame).isInstanceOf(Frame.Close.class);
            assertThat(afterCancel).isLessThan(395);
            assertThat(metric("tandem_cloud_sessions_ended_total{reason=\"cancelled\"}") - cancelledBefore).isEqualTo(1.0);
            assertThat(metric("tandem_cloud_kv_positions")).isZero();
        }
    }

    @Test
    void streamingNeedsTheWholeModel() {
        try (AgentTestClient client = connect("stream-4")) {
            client.send(4, 0, new Frame.Open(EDGE.modelHash(), Mode.split(2), SamplingParams.greedy(), 10,
                    Delivery.STREAM, 4, new int[0]));
            Frame.Error error = (Frame.Error) client.receive().frame();
            assertThat(SessionError.of(error.code())).isEqualTo(SessionError.BAD_MODE);
            assertThat(error.message()).contains("STREAM session runs the whole model");
        }
    }

    @Test
    void verifyAcceptsTheGoldenPrefixCorrectsTheRestAndRollsBack() throws Exception {
        int[] g = AgentEndpointTest.goldenIds();
        try (AgentTestClient client = connect("verify-1")) {
            client.send(5, 0, new Frame.Open(EDGE.modelHash(), Mode.FULL, SamplingParams.greedy(), 50, Delivery.VERIFY, 0,
                    new int[0]));
            client.send(5, 1, new Frame.Tokens(0, new int[] {1}));
            assertThat(client.receive().frame()).isInstanceOf(Frame.Opened.class);
            assertThat(((Frame.Token) client.receive().frame()).id()).isEqualTo(g[1]);
            int wrong = (g[4] + 1) % 512;
            client.send(5, 2, new Frame.Draft(1, new int[] {g[1], g[2], g[3], wrong, 5}));
            Frame.Verified first = (Frame.Verified) client.receive().frame();
            assertThat(first.accepted()).isEqualTo(2);
            assertThat(first.next()).isEqualTo(g[4]);
            assertThat(first.computeMicros()).isPositive();
            // the cache holds [0, 4) now: the next draft starts there, as if the wrong tokens never were
            client.send(5, 3, new Frame.Draft(4, new int[] {g[4], g[5], g[6], g[7]}));
            Frame.Verified second = (Frame.Verified) client.receive().frame();
            assertThat(second.accepted()).isEqualTo(3);
            assertThat(second.next()).isEqualTo(g[8]);
            // a draft that does not start where the session is gets the session refused
            client.send(5, 4, new Frame.Draft(4, new int[] {g[8], g[9]}));
            Frame.Error error = (Frame.Error) client.receive().frame();
            assertThat(SessionError.of(error.code())).isEqualTo(SessionError.BAD_INPUT);
            assertThat(error.message()).contains("input starts at position 4 but the session has 8 positions");
        }
    }

    @Test
    void splitVerificationTakesTheDraftsActivationsAndRollsBack() throws Exception {
        int[] g = AgentEndpointTest.goldenIds();
        int dim = EDGE.config().dim();
        try (AgentTestClient client = connect("verify-2");
             KvSequence head = EDGE.range(0, 2).session().newSequence()) {
            client.send(6, 0, new Frame.Open(EDGE.modelHash(), Mode.split(2), SamplingParams.greedy(), 50,
                    Delivery.VERIFY, 0, new int[0]));
            client.send(6, 1, ActivationCodec.encode(0, hidden(head, 1), 1, dim, Codec.FP32));
            client.receive();
            assertThat(((Frame.Token) client.receive().frame()).id()).isEqualTo(g[1]);
            int[] draft = {g[1], g[2], (g[3] + 7) % 512};
            client.send(6, 2, new Frame.Draft(1, draft));
            client.send(6, 3, ActivationCodec.encode(1, hidden(head, draft), draft.length, dim, Codec.FP32));
            Frame.Verified verified = (Frame.Verified) client.receive().frame();
            assertThat(verified.accepted()).isEqualTo(1);
            assertThat(verified.next()).isEqualTo(g[3]);
            head.truncate(1 + 1 + verified.accepted());
            int[] next = {g[3], g[4], g[5], g[6]};
            client.send(6, 4, new Frame.Draft(3, next));
            client.send(6, 5, ActivationCodec.encode(3, hidden(head, next), next.length, dim, Codec.FP32));
            Frame.Verified all = (Frame.Verified) client.receive().frame();
            assertThat(all.accepted()).isEqualTo(3);
            assertThat(all.next()).isEqualTo(g[7]);
        }
    }

    @Test
    void aVersionOneAgentIsAnsweredInVersionOne() throws Exception {
        int[] golden = AgentEndpointTest.goldenIds();
        try (AgentTestClient client = connect("old-edge")) {
            assertThat(WireFormat.versionOf(client.receiveLoadRaw())).as("the Load sent on connect").isEqualTo(1);
            client.sendVersion1(8, 0, new Frame.Open(EDGE.modelHash(), Mode.FULL, SamplingParams.greedy(), 3));
            client.sendVersion1(8, 1, new Frame.Tokens(0, new int[] {1}));
            byte[] opened = client.receiveRaw();
            assertThat(WireFormat.versionOf(opened)).isEqualTo(1);
            byte[] token = client.receiveRaw();
            assertThat(WireFormat.versionOf(token)).isEqualTo(1);
            Envelope decoded = new io.tandem.model.wire.FrameDecoder(io.tandem.model.wire.WireLimits.DEFAULT, 1).decode(token);
            assertThat(((Frame.Token) decoded.frame()).id()).isEqualTo(golden[1]);
        }
    }

    private static float[] hidden(KvSequence head, int... ids) {
        StageOutput.Hidden out = (StageOutput.Hidden) head.run(new StageInput.Tokens(Arrays.stream(ids).asLongStream().toArray()));
        FloatBuffer floats = out.bytes().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        float[] values = new float[floats.remaining()];
        floats.get(values);
        return values;
    }

    private double metric(String name) {
        String text;
        try (HttpClient http = HttpClient.newHttpClient()) {
            text = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/prometheus")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "(?:\\{[^}]*\\})? ([0-9.eE+-]+)$").matcher(text);
        return m.find() ? Double.parseDouble(m.group(1)) : 0.0;
    }
}
