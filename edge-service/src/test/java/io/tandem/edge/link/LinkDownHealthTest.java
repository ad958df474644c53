package io.tandem.edge.link;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.edge.EdgeTest;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.test.web.reactive.server.WebTestClient;
import tools.jackson.databind.JsonNode;

/** An edge configured with cloud routes whose link cannot come up says it is degraded, not UP. */
@EdgeTest(properties = {EdgeTest.CONFIG, EdgeTest.CONFIG_NAME, EdgeTest.AUDIT,
        "tandem.link.enabled=true",
        "tandem.link.url=ws://127.0.0.1:9/v1/agent",
        "tandem.link.connect-timeout=500ms",
        "spring.security.oauth2.client.provider.tandem-cloud.token-uri=http://127.0.0.1:9/oauth2/token"})
class LinkDownHealthTest {

    @Autowired
    WebTestClient client;

    @Test
    void healthIsDegradedWhileTheLinkIsDownAndTheEdgeStaysLive() {
        JsonNode health = client.get().uri("/actuator/health").exchange()
                .expectStatus().isOk()
                .expectBody(JsonNode.class).returnResult().getResponseBody();
        assertThat(health.get("status").asString()).isEqualTo("DEGRADED");
        JsonNode link = health.get("components").get("cloudLinkHealth");
        assertThat(link).as("components: %s", health.get("components").propertyNames()).isNotNull();
        assertThat(link.get("status").asString()).isEqualTo("DEGRADED");
        assertThat(link.get("details").get("link").asString()).isEqualTo("DOWN");
        assertThat(link.get("details").get("mode").asString()).contains("link to the cloud is down");
        client.get().uri("/actuator/health/liveness").exchange().expectStatus().isOk();
    }
}
