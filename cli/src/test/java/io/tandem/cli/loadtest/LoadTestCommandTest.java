package io.tandem.cli.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.tandem.cli.TandemCli;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LoadTestCommandTest {

    /** Three content chunks, written in pieces that split lines, the way a streaming server flushes them. */
    static final List<String> STREAM = List.of(
            "data:{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n",
            "data:{\"choices\":[{\"index\":0,\"delta\":{\"content\":\" Once\"}}]}\n\ndata:{\"choi",
            "ces\":[{\"index\":0,\"delta\":{\"content\":\" upon\"}}]}\n",
            "\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" a time\"}}]}\n\n",
            "data:{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}\n\n",
            "data:[DO", "NE]\n\n");
    static final int CHUNKS_PER_STREAM = 3;

    static final String PROBLEM = "{\"type\":\"https://tandem.dev/problems/overloaded\",\"title\":\"Too Many Requests\","
            + "\"status\":429,\"detail\":\"all slots are busy\",\"instance\":\"/v1/chat/completions\"}";

    enum Answer { STREAM, TRUNCATED, REJECT, FAIL }

    HttpServer server;
    ExecutorService executor;
    final AtomicInteger received = new AtomicInteger();
    final AtomicInteger wrongRequests = new AtomicInteger();

    String start(IntFunction<Answer> answerForNth) throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        executor = Executors.newCachedThreadPool();
        server.setExecutor(executor);
        server.createContext("/v1/chat/completions", exchange -> {
            try (exchange) {
                String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
                if (!exchange.getRequestMethod().equals("POST") || !body.contains("\"stream\":true")
                        || !body.contains("\"max_tokens\":8") || !body.contains("\"content\":\"Once\"")) {
                    wrongRequests.incrementAndGet();
                }
                answer(exchange, answerForNth.apply(received.incrementAndGet()));
            }
        });
        server.start();
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private static void answer(HttpExchange exchange, Answer answer) throws IOException {
        switch (answer) {
            case REJECT, FAIL -> {
                boolean reject = answer == Answer.REJECT;
                byte[] problem = (reject ? PROBLEM : PROBLEM.replace("429", "500")).getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", "application/problem+json");
                if (reject) {
                    exchange.getResponseHeaders().set("Retry-After", "0");
                }
                exchange.sendResponseHeaders(reject ? 429 : 500, problem.length);
                exchange.getResponseBody().write(problem);
            }
            case STREAM, TRUNCATED -> {
                exchange.getResponseHeaders().set("Content-Type", "text/event-stream");
                exchange.sendResponseHeaders(200, 0);
                OutputStream out = exchange.getResponseBody();
                List<String> pieces = answer == Answer.STREAM ? STREAM : STREAM.subList(0, 4);
                for (String piece : pieces) {
                    out.write(piece.getBytes(StandardCharsets.UTF_8));
                    out.flush();
                }
            }
        }
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
            executor.shutdownNow();
        }
    }

    record Run(int exitCode, String out, String err) {
        /** The cells of the table's row for the given client count, as numbers where they are numbers. */
        String[] row(int clients) {
            return Arrays.stream(out.split("\n")).filter(l -> l.startsWith("| " + clients + " |"))
                    .findFirst().map(l -> Arrays.stream(l.split("\\|")).map(String::strip).skip(1).toArray(String[]::new))
                    .orElseThrow(() -> new AssertionError("no row for " + clients + " clients in:\n" + out));
        }
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = TandemCli.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void countsOkStreamsAndEveryThird429() throws IOException {
        String url = start(n -> n % 3 == 0 ? Answer.REJECT : Answer.STREAM);
        Run run = run("loadtest", "--url", url, "--clients", "3", "--duration", "1s", "--max-tokens", "8",
                "--prompt", "Once");
        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).startsWith("| clients | requests | ok | 429 | errors |");
        String[] row = run.row(3);
        long requests = Long.parseLong(row[1]);
        long ok = Long.parseLong(row[2]);
        long rejected = Long.parseLong(row[3]);
        assertThat(requests).as("every request the server saw, and only those").isEqualTo(received.get()).isGreaterThan(5);
        assertThat(rejected).isEqualTo(requests / 3);
        assertThat(ok).isEqualTo(requests - requests / 3);
        assertThat(row[4]).as("errors").isEqualTo("0");
        assertThat(wrongRequests.get()).isZero();
        double okPerSecond = Double.parseDouble(row[5]);
        double tokensPerSecond = Double.parseDouble(row[6]);
        assertThat(tokensPerSecond).isCloseTo(okPerSecond * CHUNKS_PER_STREAM, org.assertj.core.data.Offset.offset(0.2));
        for (int i = 7; i <= 10; i++) {
            assertThat(Double.parseDouble(row[i])).as("column %d", i).isPositive();
        }
        assertThat(Double.parseDouble(row[8])).as("TTFT P95 >= P50").isGreaterThanOrEqualTo(Double.parseDouble(row[7]));
        assertThat(run.err()).contains("first 429: HTTP 429 (application/problem+json)").doesNotContain("errors:");
    }

    @Test
    void streamsWithoutDoneAndOtherStatusesAreErrors() throws IOException {
        String url = start(n -> n % 2 == 0 ? Answer.TRUNCATED : Answer.FAIL);
        Run run = run("loadtest", "--url", url + "/", "--clients", "1,2", "--duration", "300ms", "--max-tokens", "8",
                "--prompt", "Once");
        assertThat(run.exitCode()).as(run.err()).isZero();
        for (int clients : new int[] {1, 2}) {
            String[] row = run.row(clients);
            assertThat(row[2]).as("ok").isEqualTo("0");
            assertThat(row[3]).as("429").isEqualTo("0");
            assertThat(row[4]).as("errors").isEqualTo(row[1]);
            assertThat(row[7]).as("no TTFT without ok requests").isEqualTo("-");
        }
        assertThat(run.err()).contains("first stream without [DONE]: 200 stream ended without [DONE] after 3 chunks")
                .contains("first http error: HTTP 500");
    }

    @Test
    void refusedConnectionsAreTransportErrors() throws IOException {
        String url = start(n -> Answer.STREAM);
        server.stop(0);
        server = null;
        executor.shutdownNow();
        Run run = run("loadtest", "--url", url, "--clients", "1", "--duration", "200ms");
        assertThat(run.exitCode()).as(run.err()).isZero();
        String[] row = run.row(1);
        assertThat(row[2]).isEqualTo("0");
        assertThat(row[4]).isEqualTo(row[1]);
        assertThat(run.err()).contains("transport error");
    }

    @Test
    void badArgumentsAreUsageErrors() {
        assertThat(run("loadtest", "--url", "localhost:8080").exitCode()).isEqualTo(TandemCli.USAGE);
        assertThat(run("loadtest", "--clients", "0").exitCode()).isEqualTo(TandemCli.USAGE);
        assertThat(run("loadtest", "--duration", "soon").exitCode()).isEqualTo(TandemCli.USAGE);
    }

    @Test
    void retryAfterAndDurations() {
        assertThat(LoadRunner.retryAfterMillis(Optional.of("2"))).isEqualTo(2000);
        assertThat(LoadRunner.retryAfterMillis(Optional.of(" 0 "))).isZero();
        assertThat(LoadRunner.retryAfterMillis(Optional.empty())).isEqualTo(-1);
        assertThat(LoadRunner.retryAfterMillis(Optional.of("soon"))).isEqualTo(-1);
        assertThat(LoadRunner.retryAfterMillis(Optional.of("Wed, 21 Oct 2015 07:28:00 GMT"))).isZero();
        assertThat(Durations.parse("20s")).hasSeconds(20);
        assertThat(Durations.parse("500ms").toMillis()).isEqualTo(500);
        assertThat(Durations.parse("2m")).hasMinutes(2);
        assertThat(Durations.parse("PT1.5S").toMillis()).isEqualTo(1500);
        assertThat(Durations.parse("3").toMillis()).isEqualTo(3000);
    }
}
