package io.tandem.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The issuer, the cloud and the edge as separate processes, linked with a real client-credentials
 * token over a real WebSocket: at temperature 0, every split point and the cloud route give exactly
 * the local answer (fp32 activations on the wire), whole and streamed.
 */
class CloudLinkEndToEndTest {

    static TandemStack stack;
    static EdgeClient edge;

    @BeforeAll
    static void start() {
        stack = TandemStack.start(Path.of("target", "e2e-logs"), List.of(), List.of("--tandem.link.codec=fp32"));
        edge = new EdgeClient(stack.edge.baseUrl());
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    static final String PROMPT = "Once upon a time, there was a little dog";

    static final String PERSON = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":20},"
            + "\"age\":{\"type\":\"integer\"},\"pet\":{\"type\":\"object\",\"properties\":{\"kind\":{\"type\":\"string\","
            + "\"enum\":[\"cat\",\"dog\"]},\"legs\":{\"type\":\"integer\"}},\"required\":[\"kind\",\"legs\"],"
            + "\"additionalProperties\":false},\"friends\":{\"type\":\"array\",\"items\":{\"type\":\"string\","
            + "\"maxLength\":10},\"maxItems\":2}},\"required\":[\"name\",\"age\",\"pet\",\"friends\"],"
            + "\"additionalProperties\":false}";

    static boolean parses(String text) {
        try {
            tools.jackson.databind.json.JsonMapper.builder().build().readTree(text);
            return true;
        } catch (tools.jackson.core.JacksonException e) {
            return false;
        }
    }

    static String structured(String route, int seed) {
        return "{\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],\"temperature\":1,\"seed\":" + seed
                + ",\"max_tokens\":60,\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"person\","
                + "\"strict\":true,\"schema\":" + PERSON + "}},\"tandem\":{\"route\":\"" + route + "\"}}";
    }

    /**
     * Issue 14: the constraint travels with the session (the Decoding frame), so the cloud masks its own
     * choices: at temperature 1, every one of 50 seeds gives JSON that validates against the nested
     * schema on every route; and the cloud, choosing with the same seed from the same logits, chooses
     * what the device would have.
     */
    @Test
    void structuredOutputValidatesOnEveryRoute() throws Exception {
        com.networknt.schema.Schema schema = com.networknt.schema.SchemaRegistry
                .withDefaultDialect(com.networknt.schema.SpecificationVersion.DRAFT_2020_12)
                .getSchema(PERSON, com.networknt.schema.InputFormat.JSON);
        int sameAsLocal = 0;
        for (int seed = 0; seed < 50; seed++) {
            String local = null;
            for (String route : List.of("local", "split", "cloud")) {
                JsonNode answer = edge.chat(structured(route, seed));
                assertThat(answer.at("/tandem/route").stringValue()).isEqualTo(route);
                assertThat(answer.at("/tandem/warnings").isEmpty()).as("%s", answer.at("/tandem/warnings")).isTrue();
                String text = answer.at("/choices/0/message/content").stringValue();
                assertThat(parses(text)).as("%s seed %d: %s (%s)", route, seed, text, answer.at("/choices/0/finish_reason"))
                        .isTrue();
                assertThat(schema.validate(text, com.networknt.schema.InputFormat.JSON)).as("%s seed %d: %s", route, seed, text)
                        .isEmpty();
                if (local == null) {
                    local = text;
                } else if (text.equals(local)) {
                    sameAsLocal++;
                }
            }
        }
        System.out.printf("structured output: %d of 100 split/cloud answers equal the local one%n", sameAsLocal);
        assertThat(sameAsLocal).as("the cloud applies the same mask to the same logits").isGreaterThanOrEqualTo(90);

        // logit bias and penalties travel too: the greedy cloud answer equals the device's
        String shaped = "{\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],\"temperature\":0,"
                + "\"max_tokens\":30,\"presence_penalty\":0.6,\"frequency_penalty\":0.4,\"logit_bias\":{\"278\":-5},"
                + "\"tandem\":{\"route\":\"%s\"}}";
        String device = edge.chat(shaped.formatted("local")).at("/choices/0/message/content").stringValue();
        assertThat(edge.chat(shaped.formatted("cloud")).at("/choices/0/message/content").stringValue()).isEqualTo(device);
        assertThat(edge.chat(shaped.formatted("split")).at("/choices/0/message/content").stringValue()).isEqualTo(device);
    }

    @Test
    void everySplitPointAndTheCloudRouteGiveTheLocalAnswer() throws Exception {
        JsonNode local = edge.complete(EdgeClient.request(PROMPT, 300, false, "local", null));
        String expected = text(local);
        assertThat(expected).hasSizeGreaterThan(100);
        assertThat(local.at("/tandem/route").stringValue()).isEqualTo("local");
        for (int k = 1; k <= 4; k++) {
            JsonNode split = edge.complete(EdgeClient.request(PROMPT, 300, false, "split", k));
            assertThat(split.at("/tandem/route").stringValue()).isEqualTo("split");
            assertThat(split.at("/tandem/warnings").isEmpty()).as("warnings %s", split.at("/tandem/warnings")).isTrue();
            assertThat(text(split)).as("split at layer %d", k).isEqualTo(expected);
            assertThat(split.at("/usage/completion_tokens").asInt()).isEqualTo(local.at("/usage/completion_tokens").asInt());
        }
        JsonNode cloud = edge.complete(EdgeClient.request(PROMPT, 300, false, "cloud", null));
        assertThat(cloud.at("/tandem/route").stringValue()).isEqualTo("cloud");
        assertThat(cloud.at("/tandem/warnings").isEmpty()).isTrue();
        assertThat(text(cloud)).isEqualTo(expected);

        String cloudMetrics = new EdgeClient(stack.cloud.baseUrl()).get("/actuator/prometheus");
        assertThat(cloudMetrics).contains("tandem_cloud_frame_bytes_count{codec=\"fp32\",direction=\"in\"}")
                .contains("tandem_cloud_sessions_opened_total{mode=\"split\"}")
                .contains("tandem_cloud_sessions_opened_total{mode=\"full\"}");
    }

    @Test
    void aStreamedSplitAnswerIsTheLocalStream() throws Exception {
        String local = streamedText(EdgeClient.request(PROMPT, 120, true, "local", null));
        String split = streamedText(EdgeClient.request(PROMPT, 120, true, "split", 3));
        assertThat(split).isEqualTo(local).isNotEmpty();
    }

    @Test
    void theEdgeReportsTheLinkUp() throws Exception {
        assertThat(edge.get("/actuator/health")).contains("\"link\":\"UP\"");
    }

    static String text(JsonNode completion) {
        return completion.at("/choices/0/text").stringValue();
    }

    static String streamedText(String body) throws Exception {
        StringBuilder text = new StringBuilder();
        try (BufferedReader reader = edge.stream(body)) {
            String data;
            while ((data = EdgeClient.nextData(reader)) != null && !data.equals("[DONE]")) {
                JsonNode chunk = EdgeClient.JSON.readTree(data);
                JsonNode choice = chunk.at("/choices/0/text");
                if (choice.isString()) {
                    text.append(choice.stringValue());
                }
                if (chunk.has("tandem")) {
                    assertThat(chunk.at("/tandem/warnings").isEmpty()).isTrue();
                }
            }
        }
        return text.toString();
    }
}
