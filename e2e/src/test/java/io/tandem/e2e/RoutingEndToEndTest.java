package io.tandem.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import tools.jackson.databind.JsonNode;

/**
 * The routing policy with real processes: escalation part-way through an answer, the circuit
 * breaker opening while the cloud is down and closing when it is back, and a tiny budget that
 * sends the first requests to the cloud and the rest to the device. Every audit line the edges
 * wrote validates against docs/audit-record.schema.json.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RoutingEndToEndTest {

    static final String PROMPT = "Once upon a time";
    /** With greedy decoding the embedded model's 8-token mean logprob on PROMPT first drops below -0.5 at token 34. */
    static final int ESCALATION_TOKEN = 34;

    static TandemStack stack;
    static EdgeClient edge;

    @BeforeAll
    static void start() throws java.io.IOException {
        // audit trails of earlier runs (other ports) stay in target/ between builds: only this run's count
        Path logs = Path.of("target", "e2e-logs", "routing");
        if (Files.isDirectory(logs)) {
            try (var old = Files.list(logs)) {
                for (Path file : old.filter(p -> p.getFileName().toString().endsWith("-audit.jsonl")).toList()) {
                    Files.delete(file);
                }
            }
        }
        stack = TandemStack.start(logs, List.of(), List.of(
                "--tandem.routing.escalation.window=8", "--tandem.routing.escalation.min-mean-logprob=-0.5",
                "--tandem.resilience.window-size=4", "--tandem.resilience.minimum-calls=2", "--tandem.resilience.open-duration=3s",
                "--tandem.resilience.half-open-calls=1",
                "--tandem.link.backoff-min=200ms", "--tandem.link.backoff-max=500ms"));
        edge = new EdgeClient(stack.edge.baseUrl());
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    static String body(String route, int maxTokens, String sensitivity) {
        return "{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":" + maxTokens + ",\"temperature\":0,"
                + "\"tandem\":{\"route\":\"" + route + "\",\"sensitivity\":\"" + sensitivity + "\",\"trace\":true}}";
    }

    @Test
    @Order(1)
    void autoEscalatesToTheCloudWhereConfidenceDropsAndTheTraceSaysWhere() throws Exception {
        JsonNode local = edge.complete(body("local", 60, "internal"));
        JsonNode auto = edge.complete(body("auto", 60, "internal"));
        assertThat(auto.at("/tandem/route").stringValue()).isEqualTo("escalate");
        JsonNode trace = auto.at("/tandem/trace");
        assertThat(trace.at("/rule").stringValue()).isEqualTo("LOCAL_FIRST_ESCALATE");
        assertThat(trace.at("/outcome/escalated_at_token").asInt()).isEqualTo(ESCALATION_TOKEN);
        assertThat(trace.at("/outcome/escalation_reason").stringValue()).contains("over the last 8 tokens < -0.500");
        assertThat(trace.at("/outcome/cloud_steps").asInt()).as("the cloud chose the rest").isEqualTo(60 - ESCALATION_TOKEN);
        assertThat(trace.at("/outcome/link/delivery").stringValue()).as("escalation hands over into a stream").isEqualTo("stream");
        assertThat(trace.at("/outcome/cost").asDouble()).isPositive();
        assertThat(trace.at("/outcome/fell_back_at_token").isNull()).isTrue();
        assertThat(auto.at("/tandem/warnings").size()).isZero();
        // the same greedy model in the cloud, re-reading prompt and tokens so far: the same answer
        assertThat(auto.at("/choices/0/text").stringValue()).isEqualTo(local.at("/choices/0/text").stringValue());

        // personal data never escalates: the device answers alone
        JsonNode personal = edge.complete(body("auto", 60, "personal"));
        assertThat(personal.at("/tandem/route").stringValue()).isEqualTo("local");
        assertThat(personal.at("/tandem/trace/rejected").toString()).contains("personal data may not go to region 'local'");
    }

    @Test
    @Order(2)
    void theBreakerOpensWhileTheCloudIsDownAndClosesWhenItIsBack() throws Exception {
        JsonNode before = edge.complete(body("cloud", 20, "internal"));
        assertThat(before.at("/tandem/warnings").size()).isZero();
        String expected = before.at("/choices/0/text").stringValue();

        stack.cloud.kill();
        List<JsonNode> whileDown = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            whileDown.add(edge.complete(body("cloud", 20, "internal")));
        }
        for (JsonNode answer : whileDown) {
            assertThat(answer.at("/choices/0/text").stringValue()).as("answered locally, same text").isEqualTo(expected);
            assertThat(answer.at("/tandem/warnings/0").stringValue()).contains("answered on this device");
        }
        // the first failures went through the link; once the breaker opened the policy did not even try
        assertThat(whileDown.get(0).at("/tandem/trace/outcome/fell_back_at_token").asInt()).isZero();
        JsonNode last = whileDown.get(3);
        assertThat(last.at("/tandem/route").stringValue()).isEqualTo("local");
        assertThat(last.at("/tandem/trace/rule").stringValue()).isEqualTo("CLOUD_UNAVAILABLE");
        assertThat(last.at("/tandem/warnings/0").stringValue()).contains("circuit breaker open");
        String health = edge.get("/actuator/health");
        assertThat(health).contains("\"status\":\"DEGRADED\"").contains("circuit breaker on the cloud link is open");
        assertThat(edge.get("/actuator/health/liveness")).contains("\"status\":\"UP\"");
        assertThat(edge.get("/actuator/prometheus")).contains("resilience4j_circuitbreaker_state{name=\"cloud\",state=\"open\"} 1.0");

        stack.restartCloud();
        // after open-duration the breaker lets a trial through; the link reconnects within its backoff
        JsonNode[] resumed = new JsonNode[1];
        await(Duration.ofSeconds(60), () -> {
            try {
                resumed[0] = edge.complete(body("cloud", 20, "internal"));
                return resumed[0].at("/tandem/route").stringValue().equals("cloud")
                        && resumed[0].at("/tandem/warnings").size() == 0;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        assertThat(resumed[0].at("/choices/0/text").stringValue()).isEqualTo(expected);
        await(Duration.ofSeconds(10), () -> {
            try {
                return edge.get("/actuator/health").contains("\"breaker\":\"CLOSED\"");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        JsonNode split = edge.complete("{\"prompt\":\"" + PROMPT + "\",\"max_tokens\":20,\"temperature\":0,"
                + "\"tandem\":{\"route\":\"split\",\"split_layer\":3}}");
        assertThat(split.at("/tandem/route").stringValue()).isEqualTo("split");
        assertThat(split.at("/tandem/warnings").size()).isZero();
        assertThat(split.at("/choices/0/text").stringValue()).isEqualTo(expected);
        assertThat(edge.get("/actuator/health")).contains("\"status\":\"UP\"");
    }

    @Test
    @Order(3)
    void aTinyBudgetSendsTheFirstRequestsToTheCloudThenEverythingStaysLocal() throws Exception {
        // what one 20-token cloud answer costs here, in accelerator-seconds (a step takes about a
        // millisecond on this model, more on a busy machine): the cap then holds about three of them,
        // while each reserves its estimate of 1.5 x (5 prompt + 20 answer) steps, about two answers' worth
        JsonNode measured = edge.complete(body("cloud", 20, "internal"));
        double acceleratorSeconds = measured.at("/tandem/trace/outcome/cost").asDouble() / 0.001;
        assertThat(acceleratorSeconds).isPositive();
        double cap = 3 * acceleratorSeconds;
        ServiceProcess frugal = stack.startAnotherEdge(List.of("--tandem.budget.hourly-cap=" + cap,
                "--tandem.budget.price-per-accelerator-second=1", "--tandem.budget.price-per-egress-mb=0",
                "--tandem.budget.estimate-margin=1.5"));
        try {
            EdgeClient client = new EdgeClient(frugal.baseUrl());
            List<String> routes = new ArrayList<>();
            double maxEstimate = 0;
            for (int i = 0; i < 8; i++) {
                JsonNode answer = client.complete(body("cloud", 20, "internal"));
                routes.add(answer.at("/tandem/route").stringValue());
                maxEstimate = Math.max(maxEstimate, answer.at("/tandem/trace/estimates/request_cost").asDouble());
                if (answer.at("/tandem/route").stringValue().equals("local")) {
                    assertThat(answer.at("/tandem/trace/rule").stringValue()).isEqualTo("BUDGET");
                    assertThat(answer.at("/tandem/warnings/0").stringValue()).contains("budget");
                } else if (routes.contains("local")) {
                    // after a refusal the cloud is used again only when what is left pays the estimate, which
                    // follows the cloud's reported step time (it moves with this machine's load)
                    assertThat(answer.at("/tandem/trace/inputs/budget/remaining").asDouble())
                            .as("a cloud answer after a refusal: %s", routes)
                            .isGreaterThanOrEqualTo(answer.at("/tandem/trace/estimates/request_cost").asDouble());
                }
            }
            int firstLocal = routes.indexOf("local");
            assertThat(firstLocal).as("the first requests go to the cloud: %s", routes).isGreaterThan(0);
            assertThat(routes.subList(firstLocal, routes.size())).as("then mostly local: %s", routes)
                    .filteredOn("local"::equals).hasSizeGreaterThan((routes.size() - firstLocal) / 2);
            String metrics = client.get("/actuator/prometheus");
            double spent = gauge(metrics, "tandem_budget_spent_window{window=\"hour\"}");
            assertThat(spent).isPositive();
            // requests ran one at a time here, so at most one estimate was in flight
            assertThat(spent).isLessThanOrEqualTo(cap + maxEstimate);
            assertThat(client.get("/actuator/health")).contains("DEGRADED").contains("cloud budget cannot pay");
        } finally {
            frugal.close();
        }
    }

    @Test
    @Order(4)
    void everyAuditLineValidatesAgainstTheSchema() throws Exception {
        Schema schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
                .getSchema(Files.readString(ServiceProcess.repositoryRoot().resolve("docs/audit-record.schema.json")),
                        InputFormat.JSON);
        List<Path> files;
        try (var listing = Files.list(Path.of("target", "e2e-logs", "routing"))) {
            files = listing.filter(p -> p.getFileName().toString().endsWith("-audit.jsonl")).toList();
        }
        int lines = 0;
        for (Path file : files) {
            for (String line : Files.readAllLines(file)) {
                assertThat(schema.validate(line, InputFormat.JSON)).as(line).isEmpty();
                assertThat(line).doesNotContain(PROMPT);
                lines++;
            }
        }
        assertThat(lines).isGreaterThanOrEqualTo(15);
    }

    private static double gauge(String prometheus, String series) {
        for (String line : prometheus.split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).trim());
            }
        }
        throw new AssertionError("no " + series + " in the metrics");
    }

    private static void await(Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + timeout);
            }
            Thread.sleep(500);
        }
    }
}
