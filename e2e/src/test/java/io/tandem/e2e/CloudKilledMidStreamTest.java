package io.tandem.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.model.checkpoint.Llama2cCheckpointWriter;
import io.tandem.model.llama.RandomWeights;
import java.io.BufferedReader;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * kill -9 on the cloud while an answer streams through it: the answer still arrives whole, ends
 * as it would have, says in tandem.warnings that it was finished on the device, and is exactly the
 * local answer (the local model re-reads the tokens already produced and carries on). The model is
 * a random 25M-parameter one, slow enough that the kill lands mid-answer.
 */
class CloudKilledMidStreamTest {

    static TandemStack stack;
    static EdgeClient edge;

    @BeforeAll
    static void start() throws Exception {
        Path model = Llama2cCheckpointWriter.writeTemporary(RandomWeights.create(RandomWeights.STORIES_25M, 1), "slow.bin");
        stack = TandemStack.start(Path.of("target", "e2e-logs"),
                List.of("--tandem.cloud.pool.embedded=false", "--tandem.cloud.pool.models[0].path=" + model),
                List.of("--tandem.model.path=" + model, "--tandem.model.warmup-tokens=2", "--tandem.model.threads=1"));
        edge = new EdgeClient(stack.edge.baseUrl());
    }

    @AfterAll
    static void stop() {
        if (stack != null) {
            stack.close();
        }
    }

    @Test
    void theAnswerCompletesLocallyWithAWarningAndLosesNothing() throws Exception {
        int maxTokens = 300;
        String body = EdgeClient.request("Once upon a time", maxTokens, true, "split", 4);
        EdgeClient.Streamed streamed = edge.streamInterrupted(body, 5, () -> {
            assertThat(stack.cloud.isAlive()).isTrue();
            stack.cloud.kill();
        });
        JsonNode finish = streamed.finish();
        JsonNode usage = streamed.usage();
        assertThat(streamed.textChunks()).as("the kill happened mid-answer").isGreaterThan(5);
        assertThat(finish).isNotNull();
        assertThat(finish.at("/tandem/route").stringValue()).isEqualTo("split");
        assertThat(finish.at("/tandem/warnings/0").stringValue())
                .contains("the cloud route stopped after").contains("generated on this device");
        assertThat(finish.at("/choices/0/finish_reason").stringValue()).isEqualTo("length");
        assertThat(usage.get("completion_tokens").asInt()).isEqualTo(maxTokens);

        JsonNode local = edge.complete(EdgeClient.request("Once upon a time", maxTokens, false, "local", null));
        assertThat(streamed.text()).isEqualTo(local.at("/choices/0/text").stringValue());

        JsonNode afterwards = edge.complete(EdgeClient.request("Once upon a time", 5, false, "cloud", null));
        assertThat(afterwards.at("/tandem/warnings/0").stringValue()).contains("the cloud was not available");
        assertThat(edge.get("/actuator/health")).contains("\"link\":\"DOWN\"");
    }
}
