package io.tandem.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * 32 answers at once through the demo's edge and cloud (its session limits raised to 32): cloud
 * and split routes, four prompts, every answer equal to the device's own greedy answer with no
 * warning, and the cloud's metrics show that steps of different sessions shared passes.
 */
class PoolConcurrencyEndToEndTest {

    static TandemStack stack;
    static EdgeClient edge;

    @BeforeAll
    static void start() {
        stack = TandemStack.start(Path.of("target", "e2e-logs", "pool-32"),
                List.of("--tandem.cloud.sessions.per-agent=32"),
                List.of("--tandem.resilience.max-cloud-sessions=32", "--tandem.resilience.slow-call-duration=60s"));
        edge = new EdgeClient(stack.edge.baseUrl());
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void thirtyTwoConcurrentSessionsAllGiveTheirLocalGreedyAnswers() throws Exception {
        List<String> prompts = List.of("Once upon a time", "The little dog", "Lily and Ben", "One day a bird");
        Map<String, String> local = new LinkedHashMap<>();
        for (String prompt : prompts) {
            local.put(prompt, edge.complete(EdgeClient.request(prompt, 60, false, "local", null))
                    .at("/choices/0/text").stringValue());
        }
        List<Future<JsonNode>> answers = new ArrayList<>();
        List<String[]> asked = new ArrayList<>();
        try (ExecutorService kiosks = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < 32; i++) {
                String prompt = prompts.get(i % prompts.size());
                String route = i % 2 == 0 ? "cloud" : "split";
                Integer split = route.equals("split") ? 1 + (i / 2) % 4 : null;
                asked.add(new String[] {prompt, route});
                answers.add(kiosks.submit(() -> edge.complete(EdgeClient.request(prompt, 60, false, route, split))));
            }
            for (int i = 0; i < answers.size(); i++) {
                JsonNode answer = answers.get(i).get();
                assertThat(answer.at("/tandem/warnings").size()).as("answer %d: %s", i, answer.at("/tandem/warnings")).isZero();
                assertThat(answer.at("/tandem/route").stringValue()).isEqualTo(asked.get(i)[1]);
                assertThat(answer.at("/choices/0/text").stringValue()).as("answer %d", i).isEqualTo(local.get(asked.get(i)[0]));
            }
        }
        String metrics = new EdgeClient(stack.cloud.baseUrl()).get("/actuator/prometheus");
        Matcher widest = Pattern.compile("tandem_pool_batch_fill_max\\{[^}]*range=\"0\\.\\.5\"[^}]*} ([0-9.]+)").matcher(metrics);
        assertThat(widest.find()).as("batch fill metric in\n" + metrics.lines().filter(l -> l.contains("tandem_pool")).toList()).isTrue();
        assertThat(Double.parseDouble(widest.group(1))).as("the widest cloud-route pass had several rows").isGreaterThan(1.0 / 16);
        assertThat(metrics).contains("tandem_pool_step_latency_seconds_count").contains("tandem_pool_sessions{");
    }
}
