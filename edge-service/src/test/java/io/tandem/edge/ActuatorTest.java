package io.tandem.edge;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.test.web.reactive.server.WebTestClient;

/** Operators' view: probes, the model manifest in info, and the edge's meters in Prometheus. */
@EdgeTest
class ActuatorTest {

    @Autowired
    WebTestClient client;

    @Test
    void probesAreUpOnceTheModelIsWarm() {
        client.get().uri("/actuator/health/liveness").exchange().expectStatus().isOk()
                .expectBody().jsonPath("$.status").isEqualTo("UP");
        client.get().uri("/actuator/health/readiness").exchange().expectStatus().isOk()
                .expectBody()
                .jsonPath("$.status").isEqualTo("UP")
                .jsonPath("$.components.model.status").isEqualTo("UP")
                .jsonPath("$.components.model.details.id").isEqualTo("stories260K");
    }

    @Test
    void infoCarriesTheModelManifest() {
        client.get().uri("/actuator/info").exchange().expectStatus().isOk()
                .expectBody()
                .jsonPath("$.model.id").isEqualTo("stories260K")
                .jsonPath("$.model.manifests[0].sourceSha256")
                .isEqualTo("b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696")
                .jsonPath("$.model.manifests[0].architecture.layers").isEqualTo(5)
                .jsonPath("$.model.manifests[0].graphSha256").exists();
    }

    @Test
    void prometheusExposesTheEdgeMeters() {
        client.post().uri("/v1/chat/completions")
                .bodyValue("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":5}")
                .header("Content-Type", "application/json").exchange().expectStatus().isOk();
        String metrics = client.get().uri("/actuator/prometheus").exchange().expectStatus().isOk()
                .expectBody(String.class).returnResult().getResponseBody();
        org.assertj.core.api.Assertions.assertThat(metrics)
                .contains("tandem_ttft_seconds_count{route=\"local\"}")
                .contains("tandem_inter_token_latency_seconds_count{route=\"local\"}")
                .contains("tandem_tokens_per_second_count{route=\"local\"}")
                .contains("tandem_requests_total{outcome=\"ok\",route=\"local\"}")
                .contains("tandem_local_queue_depth")
                .contains("tandem_local_sessions_active")
                .contains("tandem_local_utilization");
    }
}
