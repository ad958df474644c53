package io.tandem.cli.loadtest;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Closed-loop load: {@code clients} virtual clients, each sending one streaming chat completion
 * after another until the duration is over (requests already sent then run to their end). One
 * {@link HttpClient} for all. After a 429 a client waits for Retry-After (1 s without one, at most
 * {@link Config#maxBackoff}, never past the end); otherwise it waits {@link Config#thinkTime}, 0 by default.
 */
public final class LoadRunner {

    /** What to send and for how long. */
    public record Config(URI endpoint, Duration duration, int maxTokens, String prompt, Duration timeout,
            Duration maxBackoff, Duration thinkTime) {
    }

    private static final Duration DEFAULT_RETRY = Duration.ofSeconds(1);
    private static final Duration AFTER_TRANSPORT_ERROR = Duration.ofMillis(100);
    private static final int ERROR_BODY_LIMIT = 4096;

    private final Config config;
    private final HttpClient http;
    private final byte[] body;

    public LoadRunner(Config config) {
        this.config = config;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
        JsonMapper json = JsonMapper.builder().build();
        ObjectNode request = json.createObjectNode();
        request.putArray("messages").addObject().put("role", "user").put("content", config.prompt());
        request.put("max_tokens", config.maxTokens());
        request.put("stream", true);
        this.body = json.writeValueAsBytes(request);
    }

    /** Runs one load level and returns every request's record. */
    public LoadResult run(int clients) throws InterruptedException {
        ConcurrentLinkedQueue<RequestRecord> records = new ConcurrentLinkedQueue<>();
        ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "loadtest-watchdog");
            t.setDaemon(true);
            return t;
        });
        long start = System.nanoTime();
        long deadline = start + config.duration().toNanos();
        List<Thread> threads = new ArrayList<>();
        try {
            for (int i = 0; i < clients; i++) {
                threads.add(Thread.ofPlatform().daemon().name("loadtest-client-" + i)
                        .start(() -> loop(deadline, records, watchdog)));
            }
            for (Thread t : threads) {
                t.join();
            }
        } finally {
            for (Thread t : threads) {
                t.interrupt();
            }
            watchdog.shutdownNow();
        }
        return new LoadResult(clients, System.nanoTime() - start, new ArrayList<>(records));
    }

    private void loop(long deadline, ConcurrentLinkedQueue<RequestRecord> records, ScheduledExecutorService watchdog) {
        try {
            while (System.nanoTime() < deadline) {
                RequestRecord record = once(watchdog);
                records.add(record);
                long pause = switch (record.outcome()) {
                    case REJECTED -> Math.min(record.retryAfterMillis() >= 0 ? record.retryAfterMillis()
                            : DEFAULT_RETRY.toMillis(), config.maxBackoff().toMillis());
                    case TRANSPORT -> Math.max(AFTER_TRANSPORT_ERROR.toMillis(), config.thinkTime().toMillis());
                    default -> config.thinkTime().toMillis();
                };
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (pause > 0 && left > 0) {
                    Thread.sleep(Math.min(pause, left));
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Sends one request and reads its answer to the end. */
    RequestRecord once(ScheduledExecutorService watchdog) throws InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(config.endpoint())
                .timeout(config.timeout())
                .header("Content-Type", "application/json")
                .header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
        long t0 = System.nanoTime();
        HttpResponse<InputStream> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (HttpTimeoutException e) {
            return new RequestRecord(Outcome.TIMEOUT, 0, -1, System.nanoTime() - t0, 0, -1,
                    "no response headers within " + config.timeout());
        } catch (IOException e) {
            return new RequestRecord(Outcome.TRANSPORT, 0, -1, System.nanoTime() - t0, 0, -1, describe(e));
        }
        int status = response.statusCode();
        if (status != 200) {
            String text = readBounded(response.body());
            long retryAfter = status == 429 ? retryAfterMillis(response.headers().firstValue("Retry-After")) : -1;
            String contentType = response.headers().firstValue("Content-Type").orElse("no content type");
            return new RequestRecord(status == 429 ? Outcome.REJECTED : Outcome.HTTP_ERROR, status, -1,
                    System.nanoTime() - t0, 0, retryAfter,
                    "HTTP " + status + " (" + contentType + "): " + Chunks.abbreviate(text));
        }
        return readStream(response, t0, watchdog);
    }

    private RequestRecord readStream(HttpResponse<InputStream> response, long t0, ScheduledExecutorService watchdog) {
        AtomicBoolean timedOut = new AtomicBoolean();
        InputStream in = response.body();
        long left = config.timeout().toNanos() - (System.nanoTime() - t0);
        ScheduledFuture<?> alarm = watchdog.schedule(() -> {
            timedOut.set(true);
            closeQuietly(in);
        }, Math.max(0, left), TimeUnit.NANOSECONDS);
        long ttft = -1;
        long doneAt = -1;
        int tokens = 0;
        String streamError = null;
        String broken = null;
        SseParser.State state = SseParser.State.START;
        char[] buffer = new char[8192];
        try (Reader reader = new InputStreamReader(in, StandardCharsets.UTF_8)) {
            boolean end = false;
            while (!end) {
                int n = reader.read(buffer);
                List<SseParser.Event> events;
                if (n < 0) {
                    end = true;
                    events = SseParser.finish(state);
                } else {
                    SseParser.Step step = SseParser.step(state, new String(buffer, 0, n));
                    state = step.state();
                    events = step.events();
                }
                for (SseParser.Event event : events) {
                    if (doneAt >= 0) {
                        continue;  // nothing counts after [DONE]; read on to the end of the body
                    }
                    if (event.done()) {
                        doneAt = System.nanoTime();
                        continue;
                    }
                    Chunks.Chunk chunk = Chunks.read(event.data());
                    if (chunk.error() != null) {
                        streamError = streamError == null ? chunk.error() : streamError;
                    } else if (chunk.hasContent()) {
                        tokens++;
                        if (ttft < 0) {
                            ttft = System.nanoTime() - t0;
                        }
                    }
                }
            }
        } catch (IOException e) {
            broken = describe(e);  // after [DONE] the answer is whole anyway
        } finally {
            alarm.cancel(false);
        }
        long end = System.nanoTime();
        if (timedOut.get() && doneAt < 0) {
            return new RequestRecord(Outcome.TIMEOUT, 200, ttft, end - t0, tokens, -1,
                    "200 stream not finished within " + config.timeout() + " after " + tokens + " chunks");
        }
        if (doneAt < 0 && broken != null) {
            return new RequestRecord(Outcome.TRANSPORT, 200, ttft, end - t0, tokens, -1,
                    "200 stream broke after " + tokens + " chunks: " + broken);
        }
        if (doneAt < 0) {
            return new RequestRecord(Outcome.INCOMPLETE, 200, ttft, end - t0, tokens, -1,
                    "200 stream ended without [DONE] after " + tokens + " chunks"
                            + (streamError == null ? "" : "; " + streamError));
        }
        if (streamError != null) {
            return new RequestRecord(Outcome.STREAM_ERROR, 200, ttft, doneAt - t0, tokens, -1, streamError);
        }
        return new RequestRecord(Outcome.OK, 200, ttft, doneAt - t0, tokens, -1, null);
    }

    /** Retry-After as delta-seconds or an HTTP date, in milliseconds; -1 when absent or unreadable. */
    static long retryAfterMillis(Optional<String> header) {
        if (header.isEmpty()) {
            return -1;
        }
        String value = header.get().strip();
        try {
            return Math.max(0, Long.parseLong(value)) * 1000;
        } catch (NumberFormatException notSeconds) {
            try {
                ZonedDateTime when = ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME);
                return Math.max(0, Duration.between(ZonedDateTime.now(when.getZone()), when).toMillis());
            } catch (DateTimeParseException notDate) {
                return -1;
            }
        }
    }

    private static String readBounded(InputStream in) {
        try (in) {
            byte[] bytes = in.readNBytes(ERROR_BODY_LIMIT);
            in.transferTo(java.io.OutputStream.nullOutputStream());  // the rest, so the connection can be reused
            return new String(bytes, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(body unreadable: " + describe(e) + ")";
        }
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // the reader sees the end of the stream either way
        }
    }

    private static String describe(Throwable e) {
        String message = e.getMessage();
        return e.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }
}
