package io.tandem.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import tools.jackson.databind.JsonNode;

/**
 * An edge whose cloud runs its layers on a pool of one KServe v2 gRPC endpoint: a second
 * cloud-service process (standing in for Triton, which cannot run here). Split at every layer and
 * cloud routes give llama2.c's golden greedy text; killing the second process mid-answer ends the
 * answer on the device with a warning, and the first cloud's health shows the endpoint down.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TritonPoolEndToEndTest {

    static final Duration STARTUP = Duration.ofSeconds(120);
    static ServiceProcess issuer;
    static ServiceProcess poolCloud;
    static ServiceProcess frontCloud;
    static ServiceProcess edgeProcess;
    static EdgeClient edge;
    static int grpcPort;

    @BeforeAll
    static void start() {
        Path logs = Path.of("target", "e2e-logs", "triton-pool");
        int issuerPort = ServiceProcess.freePort();
        String issuerUrl = "http://127.0.0.1:" + issuerPort;
        grpcPort = ServiceProcess.freePort();
        List<String> trust = List.of("--tandem.cloud.security.issuer=" + issuerUrl,
                "--tandem.cloud.security.jwk-set-uri=" + issuerUrl + "/oauth2/jwks",
                "--tandem.cloud.security.revocation-list-uri=" + issuerUrl + "/devices/revoked");
        issuer = ServiceProcess.start("issuer", "issuer", issuerPort,
                List.of("--spring.security.oauth2.authorizationserver.issuer=" + issuerUrl, Devices.issuerArgument(logs)), logs);
        List<String> pool = new ArrayList<>(trust);
        pool.add("--tandem.cloud.kserve.port=" + grpcPort);
        poolCloud = ServiceProcess.start("cloud-service", "cloud", ServiceProcess.freePort(), pool, logs);
        poolCloud.awaitHealthy(STARTUP);
        List<String> front = new ArrayList<>(trust);
        front.addAll(List.of("--tandem.cloud.kserve.port=" + ServiceProcess.freePort(),
                "--tandem.cloud.triton.endpoints[0]=127.0.0.1:" + grpcPort,
                "--tandem.cloud.triton.health-interval=300ms"));
        int frontPort = ServiceProcess.freePort();
        frontCloud = ServiceProcess.start("cloud-service", "cloud", frontPort, front, logs);
        issuer.awaitHealthy(STARTUP);
        frontCloud.awaitHealthy(STARTUP);
        // a KServe pool runs one step at a time: it does not verify speculative drafts (the split route in lockstep)
        edgeProcess = TandemStack.startEdge(ServiceProcess.freePort(), frontPort, issuerUrl,
                List.of("--tandem.delivery.split=lockstep"), logs);
        edge = new EdgeClient(edgeProcess.baseUrl());
    }

    @AfterAll
    static void stop() {
        for (ServiceProcess p : new ServiceProcess[] {edgeProcess, frontCloud, poolCloud, issuer}) {
            if (p != null) {
                p.close();
            }
        }
    }

    @Test
    @Order(1)
    void splitAtEveryLayerAndCloudGiveTheGoldenGreedyAnswer() throws Exception {
        String local = edge.complete(EdgeClient.request("Once upon a time", 80, false, "local", null))
                .at("/choices/0/text").stringValue();
        List<JsonNode> answers = new ArrayList<>();
        answers.add(edge.complete(EdgeClient.request("Once upon a time", 80, false, "cloud", null)));
        for (int k = 1; k <= 4; k++) {
            answers.add(edge.complete(EdgeClient.request("Once upon a time", 80, false, "split", k)));
        }
        for (JsonNode answer : answers) {
            assertThat(answer.at("/tandem/warnings").size()).as(answer.at("/tandem/warnings").toString()).isZero();
            assertThat(answer.at("/choices/0/text").stringValue()).isEqualTo(local);
        }
        // the device's greedy answer is llama2.c's golden one (EmbeddedModelGoldenTest)
        String pool = new EdgeClient(frontCloud.baseUrl()).get("/actuator/health");
        assertThat(pool).contains("127.0.0.1:" + grpcPort).contains("\"status\":\"UP\"");
    }

    @Test
    @Order(2)
    void killingThePoolEndpointMidAnswerFinishesOnTheDevice() throws Exception {
        int maxTokens = 250;
        String body = EdgeClient.request("Once upon a time", maxTokens, true, "split", 2);
        EdgeClient.Streamed streamed = edge.streamInterrupted(body, 3, poolCloud::kill);
        JsonNode finish = streamed.finish();
        assertThat(finish).isNotNull();
        assertThat(finish.at("/tandem/warnings/0").stringValue()).contains("generated on this device");
        String local = edge.complete(EdgeClient.request("Once upon a time", maxTokens, false, "local", null))
                .at("/choices/0/text").stringValue();
        assertThat(streamed.text()).isEqualTo(local);
        String health = new EdgeClient(frontCloud.baseUrl()).get("/actuator/health");
        assertThat(health).contains("127.0.0.1:" + grpcPort).contains("\"status\":\"DOWN\"");
    }
}
