package io.tandem.edge.chat;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.edge.EdgeTest;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.json.JsonMapper;

/**
 * Many streaming completions against a real edge (Netty, the SSE writer, the real model), with
 * varied lengths, sampling, stop strings, usage chunks, client cancellations and more clients
 * than generation slots (at most four waiting, so that a queued request's wait stays well under
 * the limit even on a loaded machine), watched for silence: a stream that sends nothing for
 * {@value #SILENCE_LIMIT_SECONDS} s while it is still open fails the test, and the server's
 * threads are dumped to {@code target/stall-thread-dump.txt} at that moment (the server runs in
 * this JVM). The count is small in the normal build; {@code -Dtandem.stall.requests=50000} is the
 * soak recorded in docs/BENCHMARKS.md.
 */
@EdgeTest(properties = {EdgeTest.CONFIG, EdgeTest.CONFIG_NAME, EdgeTest.AUDIT,
        "tandem.concurrency.max-active=4", "tandem.concurrency.max-queued=64"})
class StreamStallSoakTest {

    static final int SILENCE_LIMIT_SECONDS = 10;
    static final String[] PROMPTS = {"Once upon a time", "The cat", "Lily and Ben went to the park", "Hi",
            "One day a little bird saw a big red ball in the garden and wanted to play with it"};

    @LocalServerPort
    int port;

    final JsonMapper json = JsonMapper.builder().build();

    @Test
    void noStreamGoesSilent() throws Exception {
        int requests = Integer.getInteger("tandem.stall.requests", 240);
        int clients = Integer.getInteger("tandem.stall.clients", 8);
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        URI uri = URI.create("http://127.0.0.1:" + port + "/v1/chat/completions");
        AtomicInteger next = new AtomicInteger();
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger cancelled = new AtomicInteger();
        AtomicInteger rejected = new AtomicInteger();
        AtomicLong chunks = new AtomicLong();
        AtomicLong longestGapNanos = new AtomicLong();
        AtomicReference<String> stall = new AtomicReference<>();
        ConcurrentLinkedQueue<Watched> open = new ConcurrentLinkedQueue<>();
        ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor();
        watchdog.scheduleAtFixedRate(() -> {
            long now = System.nanoTime();
            for (Watched w : open) {
                if (now - w.lastNanos > TimeUnit.SECONDS.toNanos(SILENCE_LIMIT_SECONDS) && stall.get() == null) {
                    String what = "request " + w.index + " " + w.body + " silent for > " + SILENCE_LIMIT_SECONDS
                            + " s after " + w.chunks + " chunks";
                    if (stall.compareAndSet(null, what)) {
                        dumpThreads(what);
                        w.abort();
                    }
                }
            }
        }, 200, 200, TimeUnit.MILLISECONDS);
        long started = System.nanoTime();
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            threads.add(Thread.ofPlatform().name("soak-client-" + c).start(() -> {
                int index;
                while ((index = next.getAndIncrement()) < requests && stall.get() == null) {
                    SplittableRandom random = new SplittableRandom(index * 7919L);
                    Map<String, Object> body = body(random);
                    // one in eight clients walks away part-way, after 0..8 chunks
                    int cancelAfter = random.nextInt(8) == 0 ? random.nextInt(9) : -1;
                    Watched w = new Watched(index, json.writeValueAsString(body));
                    open.add(w);
                    try {
                        Outcome outcome = stream(http, uri, w, cancelAfter, longestGapNanos);
                        chunks.addAndGet(w.chunks);
                        switch (outcome) {
                            case OK -> ok.incrementAndGet();
                            case CANCELLED -> cancelled.incrementAndGet();
                            case REJECTED -> rejected.incrementAndGet();
                        }
                    } catch (IOException | InterruptedException e) {
                        if (stall.get() == null) {
                            stall.compareAndSet(null, "request " + index + " failed: " + e);
                        }
                    } finally {
                        open.remove(w);
                    }
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        watchdog.shutdownNow();
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf("%n| requests | clients | ok | cancelled | 429 | chunks | longest silence (ms) | seconds |%n"
                        + "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |%n"
                        + "| %d | %d | %d | %d | %d | %d | %.0f | %.0f |%n",
                next.get() > requests ? requests : next.get(), clients, ok.get(), cancelled.get(), rejected.get(),
                chunks.get(), longestGapNanos.get() / 1e6, seconds);
        assertThat(stall.get()).as("a stream went silent; threads in target/stall-thread-dump.txt").isNull();
        assertThat(ok.get() + cancelled.get() + rejected.get()).isEqualTo(requests);
        assertThat(ok.get()).isGreaterThan(requests / 2);
    }

    private Map<String, Object> body(SplittableRandom random) {
        Map<String, Object> body = new java.util.LinkedHashMap<>();
        body.put("messages", List.of(Map.of("role", "user", "content", PROMPTS[random.nextInt(PROMPTS.length)])));
        body.put("stream", true);
        body.put("max_tokens", 1 + random.nextInt(random.nextInt(4) == 0 ? 250 : 60));
        switch (random.nextInt(3)) {
            case 0 -> body.put("temperature", 0);
            case 1 -> {
                body.put("temperature", 0.7);
                body.put("top_p", 0.9);
            }
            default -> body.put("temperature", 1.2);
        }
        if (random.nextBoolean()) {
            body.put("seed", random.nextInt(1000));
        }
        if (random.nextInt(5) == 0) {
            body.put("stop", List.of("."));
        }
        if (random.nextInt(4) == 0) {
            body.put("stream_options", Map.of("include_usage", true));
        }
        return body;
    }

    enum Outcome { OK, CANCELLED, REJECTED }

    /** Reads one stream line by line; every line counts as a sign of life. */
    private static Outcome stream(HttpClient http, URI uri, Watched w, int cancelAfter, AtomicLong longestGap)
            throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(uri).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(w.body)).build();
        HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        w.stream = response.body();
        if (response.statusCode() == 429) {
            response.body().close();
            return Outcome.REJECTED;
        }
        if (response.statusCode() != 200) {
            String text = new String(response.body().readAllBytes(), StandardCharsets.UTF_8);
            throw new IOException("status " + response.statusCode() + ": " + text);
        }
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                long now = System.nanoTime();
                longestGap.accumulateAndGet(now - w.lastNanos, Math::max);
                w.lastNanos = now;
                if (!line.startsWith("data:")) {
                    continue;
                }
                w.chunks++;
                if (line.equals("data:[DONE]")) {
                    return Outcome.OK;
                }
                if (line.contains("\"error\"")) {
                    throw new IOException("error event in request " + w.index + ": " + line);
                }
                if (w.chunks == cancelAfter) {
                    return Outcome.CANCELLED;
                }
            }
        }
        throw new IOException("request " + w.index + " ended without [DONE] after " + w.chunks + " chunks");
    }

    private static void dumpThreads(String what) {
        StringBuilder dump = new StringBuilder(what).append("\n\n");
        for (ThreadInfo info : ManagementFactory.getThreadMXBean().dumpAllThreads(true, true)) {
            dump.append(info);
            for (StackTraceElement e : info.getStackTrace()) {
                dump.append("\tat ").append(e).append('\n');
            }
            dump.append('\n');
        }
        try {
            Files.writeString(Path.of("target/stall-thread-dump.txt"), dump);
        } catch (IOException e) {
            System.err.println(dump);
        }
    }

    static final class Watched {
        final int index;
        final String body;
        volatile long lastNanos = System.nanoTime();
        volatile int chunks;
        volatile InputStream stream;

        Watched(int index, String body) {
            this.index = index;
            this.body = body;
        }

        void abort() {
            try {
                if (stream != null) {
                    stream.close();
                }
            } catch (IOException ignored) {
                // the reading thread sees the close
            }
        }
    }
}
