package io.tandem.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.e2e.wan.WanProxy;
import io.tandem.e2e.wan.WanSettings;
import java.io.BufferedReader;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The new deliveries behind an emulated WAN (40 ms round trip, 20 Mbit/s), the issuer, the cloud
 * and two edges as processes: at temperature 0 the streaming cloud route, the speculative split
 * route with the int4 and the early-exit drafts, and the cloud route with a local draft all give
 * exactly the local answer; a stop string cancels the cloud's stream and the cloud frees the
 * session's cache; the link reset mid-answer leaves the answer whole and local-identical, with a
 * warning.
 */
class WanEndToEndTest {

    static TandemStack stack;
    static WanProxy wan;
    static ServiceProcess int4Edge;
    static ServiceProcess earlyExitEdge;
    static EdgeClient edge;
    static EdgeClient edgeB;
    static final String PROMPT = "Once upon a time, there was a little dog";
    /** The link resets of one test must not open the breaker for the others (the breaker has its own tests). */
    static final List<String> BREAKER_ASIDE = List.of("--tandem.resilience.window-size=100",
            "--tandem.resilience.minimum-calls=100");

    @BeforeAll
    static void start() {
        stack = TandemStack.startWithoutEdge(Path.of("target", "e2e-logs"), List.of());
        wan = WanProxy.start(0, new InetSocketAddress("127.0.0.1", stack.cloud.port()),
                WanSettings.symmetric(Duration.ofMillis(40), 20_000_000));
        // a small credit window, so that the cloud cannot run far ahead of a reset
        int4Edge = stack.startEdgeVia(wan.port(), concat(List.of("--tandem.delivery.draft=int4",
                "--tandem.delivery.credit-window=4", "--tandem.link.token-timeout=3s"), BREAKER_ASIDE));
        earlyExitEdge = stack.startEdgeVia(wan.port(), concat(List.of("--tandem.delivery.draft=early-exit",
                "--tandem.delivery.cloud=draft"), BREAKER_ASIDE));
        edge = new EdgeClient(int4Edge.baseUrl());
        edgeB = new EdgeClient(earlyExitEdge.baseUrl());
    }

    @AfterAll
    static void stop() {
        if (int4Edge != null) {
            int4Edge.close();
        }
        if (earlyExitEdge != null) {
            earlyExitEdge.close();
        }
        if (wan != null) {
            wan.close();
        }
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void everyNewDeliveryGivesTheLocalGreedyTextThroughTheWan() throws Exception {
        JsonNode local = edge.complete(EdgeClient.request(PROMPT, 200, false, "local", null));
        String expected = CloudLinkEndToEndTest.text(local);
        assertThat(expected).hasSizeGreaterThan(100);

        JsonNode stream = edge.complete(EdgeClient.request(PROMPT, 200, false, "cloud", null));
        assertClean(stream, "cloud");
        assertThat(CloudLinkEndToEndTest.text(stream)).isEqualTo(expected);
        assertThat(stream.at("/tandem/trace/outcome/link/delivery").stringValue()).isEqualTo("stream");

        for (int k : new int[] {1, 3}) {
            JsonNode int4 = edge.complete(EdgeClient.request(PROMPT, 200, false, "split", k));
            assertClean(int4, "split");
            assertThat(CloudLinkEndToEndTest.text(int4)).as("int4 draft, split at %d", k).isEqualTo(expected);
            JsonNode link = int4.at("/tandem/trace/outcome/link");
            assertThat(link.at("/delivery").stringValue()).isEqualTo("speculative");
            assertThat(link.at("/draft").stringValue()).isEqualTo("int4");
            // int4 agrees with fp32 on most greedy steps: well over one token per round trip
            assertThat(link.at("/accepted").asInt()).isGreaterThan(link.at("/rounds").asInt());
            assertThat(link.at("/max_gamma").asInt()).isBetween(1, 8);

            JsonNode early = edgeB.complete(EdgeClient.request(PROMPT, 200, false, "split", k));
            assertClean(early, "split");
            assertThat(CloudLinkEndToEndTest.text(early)).as("early-exit draft, split at %d", k).isEqualTo(expected);
            assertThat(early.at("/tandem/trace/outcome/link/draft").stringValue()).isEqualTo("early-exit");
        }

        JsonNode drafted = edgeB.complete(EdgeClient.request(PROMPT, 200, false, "cloud", null));
        assertClean(drafted, "cloud");
        assertThat(CloudLinkEndToEndTest.text(drafted)).isEqualTo(expected);
        assertThat(drafted.at("/tandem/trace/outcome/link/draft").stringValue()).isEqualTo("local");
        // the same model drafts and verifies: every drafted token stands
        assertThat(drafted.at("/tandem/trace/outcome/link/acceptance").asDouble()).isEqualTo(1.0);
    }

    @Test
    void sampledSpeculationVerifiesWithTheDraftsDistributionAndIsReproducibleWithASeed() throws Exception {
        String body = EdgeClient.request(PROMPT, 60, false, "split", 2)
                .replace("\"temperature\":0", "\"temperature\":0.8,\"seed\":7");
        JsonNode first = edge.complete(body);
        assertClean(first, "split");
        JsonNode link = first.at("/tandem/trace/outcome/link");
        assertThat(link.at("/delivery").stringValue()).isEqualTo("speculative");
        assertThat(link.at("/drafted").asInt()).isPositive();
        assertThat(link.at("/acceptance").asDouble()).isBetween(0.0, 1.0);
        JsonNode again = edge.complete(body);
        assertThat(CloudLinkEndToEndTest.text(again)).isEqualTo(CloudLinkEndToEndTest.text(first)).isNotEmpty();
    }

    @Test
    void aStopStringCancelsTheStreamAndTheCloudFreesTheSession() throws Exception {
        String expected = CloudLinkEndToEndTest.text(edge.complete(EdgeClient.request(PROMPT, 200, false, "local", null)));
        String stop = expected.substring(40, 52);
        String cloudBefore = new EdgeClient(stack.cloud.baseUrl()).get("/actuator/prometheus");
        String body = EdgeClient.request(PROMPT, 200, false, "cloud", null)
                .replace("\"tandem\":", "\"stop\":" + EdgeClient.JSON.writeValueAsString(stop) + ",\"tandem\":");
        JsonNode stopped = edge.complete(body);
        assertClean(stopped, "cloud");
        assertThat(CloudLinkEndToEndTest.text(stopped)).isEqualTo(expected.substring(0, 40 + expected.substring(40).indexOf(stop)));
        assertThat(stopped.at("/choices/0/finish_reason").stringValue()).isEqualTo("stop");
        assertThat(stopped.at("/tandem/trace/outcome/link/dropped_tokens").isInt()).isTrue();
        String cancelled = "tandem_cloud_sessions_ended_total{reason=\"cancelled\"}";
        // the Cancel crosses the emulated WAN after the answer: wait for the cloud to count it
        awaitMetric(stack.cloud.baseUrl(), cancelled, metric(cloudBefore, cancelled) + 1.0);
        awaitMetric(stack.cloud.baseUrl(), "tandem_cloud_kv_positions", 0.0);
    }

    @Test
    void theLinkResetMidAnswerFinishesLocallyWithTheSameText() throws Exception {
        String expected = CloudLinkEndToEndTest.text(edge.complete(EdgeClient.request(PROMPT, 200, false, "local", null)));
        for (String[] route : new String[][] {{"cloud", null}, {"split", "2"}}) {
            String body = EdgeClient.request(PROMPT, 200, true, route[0], route[1] == null ? null : Integer.parseInt(route[1]));
            EdgeClient.Streamed streamed = edge.streamInterrupted(body, 5, wan::resetAll);
            JsonNode last = streamed.finish();
            assertThat(last).isNotNull();
            assertThat(last.at("/tandem/warnings/0").stringValue()).as(route[0])
                    .contains("the cloud route stopped after").contains("generated on this device");
            assertThat(streamed.text()).as(route[0]).isEqualTo(expected);
            // the link comes back on its own for the next request
            awaitLinkUp();
        }
    }

    /**
     * Draft kind (c), a separate local model with the same vocabulary (a random 25M model beside the
     * embedded one, so it rarely agrees): speculative split and the cloud route with that draft give
     * the local greedy text, and a link reset mid-answer on the cloud route with a draft finishes on
     * the device with the same text.
     */
    @Test
    void aSeparateDraftModelGivesTheLocalGreedyTextAndSurvivesALinkReset() throws Exception {
        Path draft = io.tandem.model.checkpoint.Llama2cCheckpointWriter.writeTemporary(
                io.tandem.model.llama.RandomWeights.create(io.tandem.model.llama.RandomWeights.STORIES_25M, 7), "draft25m.bin");
        ServiceProcess modelEdge = stack.startEdgeVia(wan.port(), concat(List.of("--tandem.delivery.draft=model",
                "--tandem.delivery.draft-model=" + draft, "--tandem.delivery.cloud=draft"), BREAKER_ASIDE));
        try {
            EdgeClient client = new EdgeClient(modelEdge.baseUrl());
            String expected = CloudLinkEndToEndTest.text(client.complete(EdgeClient.request(PROMPT, 40, false, "local", null)));
            for (int k : new int[] {1, 3}) {
                JsonNode split = client.complete(EdgeClient.request(PROMPT, 40, false, "split", k));
                assertClean(split, "split");
                assertThat(split.at("/tandem/trace/outcome/link/draft").stringValue()).isEqualTo("model");
                assertThat(CloudLinkEndToEndTest.text(split)).as("separate draft model, split at %d", k).isEqualTo(expected);
            }
            JsonNode cloud = client.complete(EdgeClient.request(PROMPT, 40, false, "cloud", null));
            assertClean(cloud, "cloud");
            assertThat(cloud.at("/tandem/trace/outcome/link/draft").stringValue()).isEqualTo("model");
            assertThat(CloudLinkEndToEndTest.text(cloud)).isEqualTo(expected);

            String longer = CloudLinkEndToEndTest.text(client.complete(EdgeClient.request(PROMPT, 120, false, "local", null)));
            EdgeClient.Streamed streamed = client.streamInterrupted(EdgeClient.request(PROMPT, 120, true, "cloud", null), 5,
                    wan::resetAll);
            assertThat(streamed.finish().at("/tandem/warnings/0").stringValue())
                    .contains("the cloud route stopped after").contains("generated on this device");
            assertThat(streamed.text()).isEqualTo(longer);
            awaitLinkUp();
        } finally {
            modelEdge.close();
        }
    }

    /**
     * Escalation hands over into a stream (RoutingEndToEndTest's thresholds: the embedded model gets
     * unsure at token 34); a link reset after the hand-over finishes the answer on the device with
     * the same text.
     */
    @Test
    void aLinkResetAfterEscalatingIntoAStreamFinishesOnTheDevice() throws Exception {
        ServiceProcess escalating = stack.startEdgeVia(wan.port(), concat(List.of(
                "--tandem.routing.escalation.window=8", "--tandem.routing.escalation.min-mean-logprob=-0.5",
                // a small credit window, so that the stream is still owed tokens when the link resets
                "--tandem.delivery.credit-window=4", "--tandem.link.token-timeout=3s"), BREAKER_ASIDE));
        try {
            EdgeClient client = new EdgeClient(escalating.baseUrl());
            String prompt = RoutingEndToEndTest.PROMPT;
            String expected = CloudLinkEndToEndTest.text(client.complete(RoutingEndToEndTest.body("local", 60, "internal")));
            String body = "{\"prompt\":\"" + prompt + "\",\"max_tokens\":60,\"temperature\":0,\"stream\":true,"
                    + "\"tandem\":{\"route\":\"auto\",\"sensitivity\":\"internal\",\"trace\":true}}";
            EdgeClient.Streamed streamed = client.streamInterrupted(body, RoutingEndToEndTest.ESCALATION_TOKEN + 6, wan::resetAll);
            JsonNode trace = streamed.finish().at("/tandem/trace");
            assertThat(trace.at("/outcome/escalated_at_token").asInt()).isEqualTo(RoutingEndToEndTest.ESCALATION_TOKEN);
            assertThat(trace.at("/outcome/link/delivery").stringValue()).isEqualTo("stream");
            assertThat(trace.at("/outcome/fell_back_at_token").asInt()).isGreaterThan(RoutingEndToEndTest.ESCALATION_TOKEN);
            assertThat(streamed.finish().at("/tandem/warnings/0").stringValue()).contains("generated on this device");
            assertThat(streamed.text()).isEqualTo(expected);
            awaitLinkUp();
        } finally {
            escalating.close();
        }
    }

    private static List<String> concat(List<String> a, List<String> b) {
        return java.util.stream.Stream.concat(a.stream(), b.stream()).toList();
    }

    private static void awaitLinkUp() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        // a reset cuts every connection through the emulator: both edges must be back
        while (!edge.get("/actuator/health").contains("\"link\":\"UP\"")
                || !edgeB.get("/actuator/health").contains("\"link\":\"UP\"")) {
            assertThat(System.nanoTime()).as("the link is up again within 30 s").isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    private static void assertClean(JsonNode answer, String route) {
        assertThat(answer.at("/tandem/route").stringValue()).isEqualTo(route);
        assertThat(answer.at("/tandem/warnings").isEmpty()).as("warnings %s", answer.at("/tandem/warnings")).isTrue();
    }

    private static String awaitMetric(String base, String name, double value) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (true) {
            String text = new EdgeClient(base).get("/actuator/prometheus");
            if (metric(text, name) == value || System.nanoTime() > deadline) {
                assertThat(metric(text, name)).as(name).isEqualTo(value);
                return text;
            }
            Thread.sleep(100);
        }
    }

    static double metric(String text, String name) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "(?:\\{[^}]*\\})? ([0-9.eE+-]+)$").matcher(text);
        return m.find() ? Double.parseDouble(m.group(1)) : 0.0;
    }
}
