package io.tandem.cloud.security;

import io.tandem.cloud.session.CloudMetrics;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Reads the issuer's revocation list ({@code {"revoked": ["device", ...]}}) now and every interval
 * into {@link RevokedDevices}, and hands each newly revoked device to {@code onRevoked} (which
 * closes its connections). A failed read keeps the last list, is logged once per run of failures
 * and counted.
 */
public final class RevocationListPoller implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(RevocationListPoller.class);
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final URI uri;
    private final RevokedDevices revoked;
    private final Consumer<String> onRevoked;
    private final CloudMetrics metrics;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "tandem-revocation-list");
        t.setDaemon(true);
        return t;
    });
    private boolean failing;

    public RevocationListPoller(URI uri, Duration interval, RevokedDevices revoked, Consumer<String> onRevoked,
                                CloudMetrics metrics) {
        this.uri = uri;
        this.revoked = revoked;
        this.onRevoked = onRevoked;
        this.metrics = metrics;
        timer.scheduleWithFixedDelay(this::poll, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** One read of the list; public for tests that do not want to wait for the timer. */
    public synchronized void poll() {
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5))
                    .header("Accept", "application/json").GET().build(), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IllegalStateException("HTTP " + response.statusCode());
            }
            Set<String> fresh = revoked.replace(parse(response.body()));
            if (failing) {
                log.info("the revocation list {} is readable again: {} device(s) revoked", uri, revoked.all().size());
                failing = false;
            }
            for (String device : fresh) {
                log.info("device {} was revoked: refusing its tokens and closing its connections", device);
            }
            // every revoked device, not only the new ones: a handshake validated just before this list
            // arrived may have registered its connection after the last sweep (closing is idempotent)
            for (String device : revoked.all()) {
                try {
                    onRevoked.accept(device);
                } catch (RuntimeException e) {
                    log.warn("closing the connections of revoked device {} failed: {}", device, e.toString());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            metrics.revocationListFailed();
            if (!failing) {
                log.warn("cannot read the revocation list {} ({}); keeping the {} device(s) revoked before", uri,
                        e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage(), revoked.all().size());
                failing = true;
            }
        }
    }

    static List<String> parse(String body) {
        JsonNode list = JSON.readTree(body).get("revoked");
        if (list == null || !list.isArray()) {
            throw new IllegalArgumentException("expected {\"revoked\": [device ids]}");
        }
        List<String> devices = new ArrayList<>();
        for (JsonNode device : list) {
            if (!device.isString()) {
                throw new IllegalArgumentException("a revoked device id is not a string: " + device);
            }
            devices.add(device.asString());
        }
        return devices;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
