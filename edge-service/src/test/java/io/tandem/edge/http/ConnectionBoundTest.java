package io.tandem.edge.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import io.tandem.edge.EdgeTest;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * Connections beyond {@code tandem.http.max-connections} are closed at once (a header deadline
 * long enough not to close the held ones while the test counts).
 */
@EdgeTest(properties = {EdgeTest.CONFIG, EdgeTest.CONFIG_NAME, EdgeTest.AUDIT,
        "tandem.http.header-timeout=60s", "tandem.http.max-connections=20"})
class ConnectionBoundTest {

    @LocalServerPort
    int port;

    @Autowired
    MeterRegistry registry;

    @Test
    void connectionsBeyondTheBoundAreClosedAtOnce() throws Exception {
        double refusedBefore = registry.get("tandem.edge.http.connections.refused").counter().count();
        List<Socket> held = new ArrayList<>();
        double mostOpen = 0;
        try {
            // 30 against a bound of 20
            for (int i = 0; i < 30; i++) {
                held.add(new Socket("127.0.0.1", port));
                mostOpen = Math.max(mostOpen, registry.get("tandem.edge.http.connections").gauge().value());
            }
            // the server accepts them in its own time: wait for it to have seen all 30
            long accepted = System.nanoTime() + 10_000_000_000L;
            while (System.nanoTime() < accepted
                    && registry.get("tandem.edge.http.connections.refused").counter().count() - refusedBefore < 10) {
                mostOpen = Math.max(mostOpen, registry.get("tandem.edge.http.connections").gauge().value());
                Thread.sleep(20);
            }
            mostOpen = Math.max(mostOpen, registry.get("tandem.edge.http.connections").gauge().value());
            assertThat(registry.get("tandem.edge.http.connections.refused").counter().count() - refusedBefore)
                    .as("connections closed at once beyond the bound").isEqualTo(10);
            assertThat(mostOpen).as("connections open at most").isLessThanOrEqualTo(20);
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
        // the bound counts open connections: once they are gone, clients are served again
        long deadline = System.nanoTime() + 5_000_000_000L;
        int status = 0;
        while (System.nanoTime() < deadline && (status = getQuietly("/v1/models")) != 200) {
            Thread.sleep(50);
        }
        assertThat(status).isEqualTo(200);
    }

    private int getQuietly(String path) {
        try {
            return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
                    .send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                            HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (java.io.IOException | InterruptedException e) {
            return -1;
        }
    }
}
