package io.tandem.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.e2e.wan.WanProxy;
import io.tandem.e2e.wan.WanSettings;
import io.tandem.model.checkpoint.Llama2cCheckpointWriter;
import io.tandem.model.llama.RandomWeights;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The random 25M-parameter model (dim 512, 8 layers) behind the WAN emulator (40 ms, 20 Mbit/s):
 * at temperature 0 the streaming cloud route, the speculative split route with the int4 draft and
 * the cloud route with a local draft give exactly the local greedy text.
 */
class Random25mWanTest {

    static TandemStack stack;
    static WanProxy wan;
    static ServiceProcess streaming;
    static ServiceProcess drafting;

    @BeforeAll
    static void start() throws Exception {
        Path model = Llama2cCheckpointWriter.writeTemporary(RandomWeights.create(RandomWeights.STORIES_25M, 1), "wan25m.bin");
        stack = TandemStack.startWithoutEdge(Path.of("target", "e2e-logs", "wan25m"),
                List.of("--tandem.cloud.pool.embedded=false", "--tandem.cloud.pool.models[0].path=" + model));
        wan = WanProxy.start(0, new InetSocketAddress("127.0.0.1", stack.cloud.port()),
                WanSettings.symmetric(Duration.ofMillis(40), 20_000_000));
        List<String> edgeModel = List.of("--tandem.model.path=" + model, "--tandem.model.warmup-tokens=2");
        streaming = stack.startEdgeVia(wan.port(), edgeModel);
        drafting = stack.startEdgeVia(wan.port(), concat(edgeModel, "--tandem.delivery.cloud=draft"));
    }

    private static List<String> concat(List<String> list, String more) {
        List<String> out = new java.util.ArrayList<>(list);
        out.add(more);
        return out;
    }

    @AfterAll
    static void stop() {
        for (AutoCloseable c : new AutoCloseable[] {streaming, drafting, wan, stack}) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // closing anyway
                }
            }
        }
    }

    @Test
    void everyNewDeliveryGivesTheLocalGreedyText() throws Exception {
        EdgeClient edge = new EdgeClient(streaming.baseUrl());
        EdgeClient draftEdge = new EdgeClient(drafting.baseUrl());
        String prompt = "Once upon a time";
        String expected = CloudLinkEndToEndTest.text(edge.complete(EdgeClient.request(prompt, 40, false, "local", null)));
        assertThat(expected).isNotEmpty();
        JsonNode stream = edge.complete(EdgeClient.request(prompt, 40, false, "cloud", null));
        assertThat(stream.at("/tandem/warnings").isEmpty()).as("%s", stream.at("/tandem/warnings")).isTrue();
        assertThat(stream.at("/tandem/trace/outcome/link/delivery").stringValue()).isEqualTo("stream");
        assertThat(CloudLinkEndToEndTest.text(stream)).isEqualTo(expected);
        JsonNode split = edge.complete(EdgeClient.request(prompt, 40, false, "split", 4));
        assertThat(split.at("/tandem/warnings").isEmpty()).as("%s", split.at("/tandem/warnings")).isTrue();
        assertThat(split.at("/tandem/trace/outcome/link/draft").stringValue()).isEqualTo("int4");
        assertThat(CloudLinkEndToEndTest.text(split)).isEqualTo(expected);
        JsonNode drafted = draftEdge.complete(EdgeClient.request(prompt, 40, false, "cloud", null));
        assertThat(drafted.at("/tandem/warnings").isEmpty()).as("%s", drafted.at("/tandem/warnings")).isTrue();
        assertThat(drafted.at("/tandem/trace/outcome/link/draft").stringValue()).isEqualTo("local");
        assertThat(CloudLinkEndToEndTest.text(drafted)).isEqualTo(expected);
    }
}
