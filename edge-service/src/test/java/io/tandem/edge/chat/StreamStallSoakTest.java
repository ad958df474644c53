package io.tandem.edge.chat;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.edge.EdgeTest;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.net.Socket;
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
 * this JVM). {@code -Dtandem.stall.requests=50000} is the soak recorded in docs/BENCHMARKS.md.
 *
 * <p>The normal build runs {@value #IN_BUILD_REQUESTS} requests (a few seconds); the soak recorded in
 * docs/BENCHMARKS.md gives {@code -Dtandem.stall.requests=50000}. For a hunt: {@code -Dtandem.stall.probe=true}
 * adds what the writer chain below a silent stream was doing to the dump, {@code
 * -Dtandem.stall.tokenDelayMicros=N} makes every token up to N µs slower (each token then crosses from the
 * generation thread to the event loop on its own), {@code -Dtandem.stall.slowReaders=true} reads every
 * other stream slowly, {@code -Dtandem.stall.jitter=true} makes every non-fusable operator of the
 * request path pause now and then before passing a signal or a request on (wider race windows).
 */
@EdgeTest(properties = {EdgeTest.CONFIG, EdgeTest.CONFIG_NAME, EdgeTest.AUDIT,
        "tandem.concurrency.max-active=4", "tandem.concurrency.max-queued=64"})
class StreamStallSoakTest {

    static final int SILENCE_LIMIT_SECONDS = 10;
    static final int IN_BUILD_REQUESTS = 240;
    /** -Dtandem.stall.slowReaders=true: every other request is read slowly through a small socket buffer. */
    static final boolean SLOW_READERS = Boolean.getBoolean("tandem.stall.slowReaders");
    /**
     * -Dtandem.stall.probe=true: record each stream's demand and emissions and, on a stall, dump the state of
     * the writer chain below it (Spring's write barrier, Reactor Netty's concatMap and MonoSendMany, the
     * channel). Off by default: its operators sit in the chain under test.
     */
    static final boolean PROBE = Boolean.getBoolean("tandem.stall.probe");
    static final String[] PROMPTS = {"Once upon a time", "The cat", "Lily and Ben went to the park", "Hi",
            "One day a little bird saw a big red ball in the garden and wanted to play with it"};

    @LocalServerPort
    int port;

    /**
     * -Dtandem.stall.tokenDelayMicros=N: every token takes up to N µs longer (a slower model), so that
     * the generation thread hands each token to the event loop on its own.
     */
    @org.springframework.boot.test.context.TestConfiguration
    static class SlowerModel {
        @org.springframework.context.annotation.Bean(destroyMethod = "close")
        @org.springframework.context.annotation.Primary
        @org.springframework.boot.autoconfigure.condition.ConditionalOnProperty("tandem.stall.tokenDelayMicros")
        io.tandem.edge.inference.LocalInference slowerInference(
                io.tandem.edge.inference.LocalModelConfiguration.WarmModel warm,
                io.tandem.edge.config.ConcurrencyProperties concurrency,
                @org.springframework.beans.factory.annotation.Value("${tandem.stall.tokenDelayMicros}") long delayMicros) {
            return new io.tandem.edge.inference.LocalInference((request, listener, cancelled) ->
                    warm.engine().generate(request, new io.tandem.model.generate.GenerationListener() {
                        @Override
                        public void onToken(io.tandem.model.generate.GeneratedToken token) {
                            java.util.concurrent.locks.LockSupport.parkNanos(
                                    java.util.concurrent.ThreadLocalRandom.current().nextLong(delayMicros * 1000 + 1));
                            listener.onToken(token);
                        }

                        @Override
                        public void onTrailingText(String text) {
                            listener.onTrailingText(text);
                        }
                    }, cancelled), concurrency.effectiveMaxActive(), concurrency.maxQueued(), concurrency.retryAfter());
        }
    }

    final JsonMapper json = JsonMapper.builder().build();

    @Test
    void noStreamGoesSilent() throws Exception {
        int requests = Integer.getInteger("tandem.stall.requests", IN_BUILD_REQUESTS);
        if (PROBE) {
            StreamProbe.install();
        }
        if (Boolean.getBoolean("tandem.stall.jitter")) {
            StreamProbe.installJitter();
        }
        int clients = Integer.getInteger("tandem.stall.clients", 8);
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
                    String what = "request " + w.index + " " + w.path + " " + w.body + " silent for > " + SILENCE_LIMIT_SECONDS
                            + " s after " + w.chunks + " chunks; the server's audit of " + w.id + ": " + audited(w.id)
                            + (PROBE ? "\n" + StreamProbe.describe(w.id) : "");
                    if (stall.compareAndSet(null, what)) {
                        System.out.println("STALL: " + what);
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
                    // one in four asks for a text completion (its own random, so that the chat requests stay
                    // as they were): no opening chunk unless echo, so the stream's first chunk is a token's
                    SplittableRandom kind = new SplittableRandom(index * 31L + 7);
                    String path = "/v1/chat/completions";
                    if (kind.nextInt(4) == 0) {
                        path = "/v1/completions";
                        Object messages = body.remove("messages");
                        @SuppressWarnings("unchecked")
                        String prompt = ((List<Map<String, String>>) messages).getFirst().get("content");
                        body.put("prompt", prompt);
                        if (kind.nextInt(3) == 0) {
                            body.put("echo", true);
                        }
                    }
                    Watched w = new Watched(index, json.writeValueAsString(body), path);
                    open.add(w);
                    try {
                        Outcome outcome = stream(port, w, cancelAfter, longestGapNanos);
                        chunks.addAndGet(w.chunks);
                        switch (outcome) {
                            case OK -> ok.incrementAndGet();
                            case CANCELLED -> cancelled.incrementAndGet();
                            case REJECTED -> rejected.incrementAndGet();
                        }
                    } catch (IOException e) {
                        if (stall.get() == null) {
                            stall.compareAndSet(null, "request " + index + " failed: " + e);
                        }
                    } finally {
                        open.remove(w);
                        if (stall.get() == null) {
                            StreamProbe.forget(w.id);
                        }
                    }
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        watchdog.shutdownNow();
        CompletionController.streamProbe = null;
        StreamProbe.uninstallJitter();
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

    /**
     * Sends one request on a plain socket (HTTP/1.1, Connection: close) and reads the chunked SSE
     * answer line by line; every byte counts as a sign of life. A plain socket, not a client
     * library, so that a silence is the server's and not a client's buffering.
     */
    private static Outcome stream(int port, Watched w, int cancelAfter, AtomicLong longestGap) throws IOException {
        byte[] body = w.body.getBytes(StandardCharsets.UTF_8);
        try (Socket socket = new Socket()) {
            boolean slow = SLOW_READERS && w.index % 2 == 0;
            if (slow) {
                socket.setReceiveBufferSize(2048);
            }
            socket.connect(new java.net.InetSocketAddress("127.0.0.1", port));
            w.socket = socket;
            socket.getOutputStream().write(("POST " + w.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Content-Type: application/json\r\nConnection: close\r\nContent-Length: " + body.length
                    + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().write(body);
            socket.getOutputStream().flush();
            InputStream in = new java.io.BufferedInputStream(socket.getInputStream()) {
                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    int n = super.read(b, off, len);
                    long now = System.nanoTime();
                    longestGap.accumulateAndGet(now - w.lastNanos, Math::max);
                    w.lastNanos = now;
                    return n;
                }
            };
            String status = line(in);
            if (status == null) {
                throw new IOException("request " + w.index + ": no response");
            }
            boolean chunked = false;
            for (String header; (header = line(in)) != null && !header.isEmpty(); ) {
                chunked |= header.equalsIgnoreCase("Transfer-Encoding: chunked");
            }
            if (status.startsWith("HTTP/1.1 429")) {
                return Outcome.REJECTED;
            }
            if (!status.startsWith("HTTP/1.1 200") || !chunked) {
                throw new IOException("request " + w.index + ": " + status + (chunked ? "" : " (not chunked)"));
            }
            StringBuilder text = new StringBuilder();
            while (true) {
                String size = line(in);
                if (size == null) {
                    break;
                }
                int length = Integer.parseInt(size.strip(), 16);
                if (length == 0) {
                    break;
                }
                text.append(new String(in.readNBytes(length), StandardCharsets.UTF_8));
                if (slow && w.chunks % 8 == 7) {
                    try {
                        Thread.sleep(40); // a slow reader: the edge's socket fills and becomes unwritable
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IOException(e);
                    }
                }
                line(in); // the CRLF after the chunk
                for (int nl; (nl = text.indexOf("\n")) >= 0; ) {
                    String event = text.substring(0, nl);
                    text.delete(0, nl + 1);
                    if (!event.startsWith("data:")) {
                        continue;
                    }
                    w.chunks++;
                    if (w.id == null) {
                        int at = event.indexOf("chatcmpl-");
                        w.id = at < 0 ? null : event.substring(at, at + 41);
                    }
                    if (event.equals("data: [DONE]")) {
                        return Outcome.OK;
                    }
                    if (event.contains("\"error\"")) {
                        throw new IOException("error event in request " + w.index + ": " + event);
                    }
                    if (w.chunks == cancelAfter) {
                        return Outcome.CANCELLED;
                    }
                }
            }
        }
        throw new IOException("request " + w.index + " ended without [DONE] after " + w.chunks + " chunks");
    }

    /** One CRLF-terminated line, or null at the end of the stream. */
    private static String line(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int b; (b = in.read()) >= 0; ) {
            if (b == '\n') {
                int end = line.length();
                return end > 0 && line.charAt(end - 1) == '\r' ? line.substring(0, end - 1) : line.toString();
            }
            line.append((char) b);
        }
        return line.isEmpty() ? null : line.toString();
    }

    /**
     * What the edge's audit trail says of a request: whether the server finished it (the rest of the
     * answer was lost on the way out) or not (the generation or its events stopped).
     */
    private static String audited(String id) {
        if (id == null) {
            return "no id seen";
        }
        try (var lines = Files.lines(Path.of("target/test-audit.jsonl"))) {
            return lines.filter(l -> l.contains(id)).findFirst()
                    .map(l -> l.replaceAll(".*(\"outcome\":\\{[^}]*\\}).*(\"timings\":\\{[^}]*\\}).*", "$1 $2"))
                    .orElse("no record yet (the server has not finished it)");
        } catch (IOException e) {
            return "unreadable: " + e.getMessage();
        }
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
        final String path;
        volatile long lastNanos = System.nanoTime();
        volatile int chunks;
        volatile Socket socket;
        volatile String id;

        Watched(int index, String body, String path) {
            this.index = index;
            this.body = body;
            this.path = path;
        }

        void abort() {
            try {
                if (socket != null) {
                    socket.close();
                }
            } catch (IOException ignored) {
                // the reading thread sees the close
            }
        }
    }
}
