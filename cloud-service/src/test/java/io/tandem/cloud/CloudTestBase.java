package io.tandem.cloud;

import java.time.Duration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** Wires the trusted test key into the cloud and connects agents to it. */
abstract class CloudTestBase {

    @LocalServerPort
    int port;

    @DynamicPropertySource
    static void trustTestKey(DynamicPropertyRegistry registry) {
        registry.add("tandem.cloud.security.public-key", () -> "file:" + TestAgentKeys.TRUSTED.publicKeyPem());
    }

    AgentTestClient connect(String agent) {
        return AgentTestClient.connect(port, TestAgentKeys.TRUSTED.token(agent, Duration.ofMinutes(10)));
    }
}
