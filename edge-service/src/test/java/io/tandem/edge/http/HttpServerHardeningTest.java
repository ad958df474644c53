package io.tandem.edge.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.edge.EdgeTest;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.web.server.LocalServerPort;

/**
 * Slow and greedy clients on real sockets: slowloris connections (headers a line at a time, every
 * line resetting any idle timer) are closed by the header deadline, connections beyond the bound
 * beyond the bound are closed at once ({@link ConnectionBoundTest}), and other clients are served
 * throughout.
 */
@EdgeTest(properties = {EdgeTest.CONFIG, EdgeTest.CONFIG_NAME, EdgeTest.AUDIT,
        "tandem.http.header-timeout=1s", "tandem.http.idle-timeout=5s"})
class HttpServerHardeningTest {

    @LocalServerPort
    int port;



    @Test
    void slowlorisSocketsAreClosedByTheHeaderDeadlineWhileOthersAreServed() throws Exception {
        List<Socket> slow = new ArrayList<>();
        try {
            for (int i = 0; i < 20; i++) {
                Socket s = new Socket("127.0.0.1", port);
                s.getOutputStream().write("GET /v1/models HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
                slow.add(s);
            }
            long start = System.nanoTime();
            // a header line every 300 ms: never idle, never finished
            int closed = 0;
            for (int round = 0; round < 20 && closed < slow.size(); round++) {
                Thread.sleep(300);
                closed = 0;
                for (int i = 0; i < slow.size(); i++) {
                    try {
                        slow.get(i).getOutputStream().write(("X-Slow-" + round + ": " + i + "\r\n")
                                .getBytes(StandardCharsets.US_ASCII));
                        slow.get(i).getOutputStream().flush();
                        if (closedByServer(slow.get(i), 1)) {
                            closed++;
                        }
                    } catch (IOException e) {
                        closed++;
                    }
                }
                assertThat(get("/v1/models")).as("another client is served").isEqualTo(200);
            }
            long elapsedMs = (System.nanoTime() - start) / 1_000_000;
            assertThat(closed).as("slowloris sockets closed by the edge").isEqualTo(slow.size());
            assertThat(elapsedMs).as("ms until all were closed").isLessThan(4000);
        } finally {
            for (Socket s : slow) {
                s.close();
            }
        }
    }

    @Test
    void aStreamReadSlowlyOutlastsTheHeaderDeadlineAndTheConnectionServesTheNextRequest() throws Exception {
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"Once upon a time\"}],\"stream\":true,"
                + "\"max_tokens\":200,\"temperature\":0}";
        String request = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.length() + "\r\n\r\n" + body;
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            InputStream in = socket.getInputStream();
            for (int round = 0; round < 2; round++) {
                socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
                Thread.sleep(1500); // longer than the 1 s header deadline: the answer is under way, not a slow client
                StringBuilder seen = new StringBuilder();
                byte[] buffer = new byte[8192];
                while (seen.indexOf("data: [DONE]") < 0) {
                    int n = in.read(buffer);
                    assertThat(n).as("the stream of round %d ends with [DONE], not a closed socket", round).isPositive();
                    seen.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
                }
                // chunked encoding: read the terminating chunk before the next request
                while (seen.indexOf("\r\n0\r\n\r\n") < 0) {
                    int n = in.read(buffer);
                    assertThat(n).isPositive();
                    seen.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
                }
                assertThat(seen).contains("HTTP/1.1 200");
            }
        }
    }

    /** The server closed the socket: a read ends (or resets) within {@code millis}. */
    private static boolean closedByServer(Socket socket, int millis) throws IOException {
        socket.setSoTimeout(millis);
        InputStream in = socket.getInputStream();
        try {
            byte[] buffer = new byte[4096];
            while (true) {
                if (in.read(buffer) < 0) {
                    return true;
                }
            }
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    int get(String path) throws IOException, InterruptedException {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    int getQuietly(String path) {
        try {
            return get(path);
        } catch (IOException | InterruptedException e) {
            return -1;
        }
    }

}
