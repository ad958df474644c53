package io.tandem.edge.link;

import io.tandem.model.wire.Frame;
import io.tandem.model.wire.WireLimits;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ObjIntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The edge's one link to the cloud: a WebSocket authenticated with the agent's bearer token,
 * shared by every session of this edge. It reconnects with exponential backoff; while it is down,
 * opening a session fails at once (the request then runs locally) instead of waiting. Before the
 * token expires (the cloud closes a connection then) a fresh connection takes new sessions and the
 * old one finishes what it carries.
 */
public final class CloudLink implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CloudLink.class);

    /** A bearer token and when it expires. */
    public record AgentToken(String value, Instant expiresAt) {
    }

    /** Gets a token, e.g. with OAuth2 client credentials; blocking; throws LinkException on failure. */
    @FunctionalInterface
    public interface TokenSource {
        AgentToken token();
    }

    public enum State { UP, DOWN, CLOSED }

    /** The cloud reports its load about once a second; older than this, the report says little. */
    public static final Duration LOAD_FRESHNESS = Duration.ofSeconds(5);

    private record ReportedLoad(Frame.Load load, Instant at) {
    }

    private volatile ReportedLoad load;

    private final URI url;
    private final TokenSource tokens;
    private final WireLimits limits;
    private final Duration connectTimeout;
    private final Duration backoffMin;
    private final Duration backoffMax;
    private final Clock clock;
    private final ObjIntConsumer<String> bytesSent;
    private final AtomicLong sessionIds = new AtomicLong();
    private final List<LinkConnection> draining = new ArrayList<>();
    private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "tandem-cloud-link");
        t.setDaemon(true);
        return t;
    });
    private LinkConnection current;
    private Instant currentExpires = Instant.MAX;
    private Duration backoff;
    private Instant nextAttempt = Instant.MIN;
    private String lastError = "not connected yet";
    private boolean closed;

    public CloudLink(URI url, TokenSource tokens, WireLimits limits, Duration connectTimeout, Duration backoffMin,
                     Duration backoffMax, Clock clock, ObjIntConsumer<String> bytesSent) {
        this.url = url;
        this.tokens = tokens;
        this.limits = limits;
        this.connectTimeout = connectTimeout;
        this.backoffMin = backoffMin;
        this.backoffMax = backoffMax;
        this.backoff = backoffMin;
        this.clock = clock;
        this.bytesSent = bytesSent;
    }

    /** Connects now in the background and keeps the link up from then on. */
    public void start() {
        ticker.scheduleWithFixedDelay(this::tick, 0, Math.max(100, backoffMin.toMillis() / 2), TimeUnit.MILLISECONDS);
    }

    public URI url() {
        return url;
    }

    public synchronized State state() {
        if (closed) {
            return State.CLOSED;
        }
        return current != null && current.isOpen() ? State.UP : State.DOWN;
    }

    /** The cloud's load as it last reported it, if that report is fresh (within {@link #LOAD_FRESHNESS}). */
    public Optional<Frame.Load> load() {
        ReportedLoad last = load;
        if (last == null || Duration.between(last.at, clock.instant()).compareTo(LOAD_FRESHNESS) > 0) {
            return Optional.empty();
        }
        return Optional.of(last.load);
    }

    private void loadReported(Frame.Load report) {
        load = new ReportedLoad(report, clock.instant());
    }

    public synchronized String lastError() {
        return lastError;
    }

    public synchronized int sessions() {
        int n = current == null ? 0 : current.sessions();
        for (LinkConnection c : draining) {
            n += c.sessions();
        }
        return n;
    }

    /** A new session on the current connection; throws LinkException at once while the link is down. */
    RemoteSession openSession() {
        return new RemoteSession(sessionIds.incrementAndGet(), connection());
    }

    private synchronized LinkConnection connection() {
        if (closed) {
            throw new LinkException("the cloud link is shut down");
        }
        if (current != null && current.isOpen()) {
            return current;
        }
        Instant now = clock.instant();
        if (now.isBefore(nextAttempt)) {
            throw new LinkException("the cloud link is down (" + lastError + "); next attempt in "
                    + Duration.between(now, nextAttempt).toMillis() + " ms");
        }
        return connect();
    }

    private LinkConnection connect() {
        try {
            AgentToken token = tokens.token();
            LinkConnection fresh = LinkConnection.connect(url, token.value(), limits, connectTimeout, bytesSent,
                    this::loadReported);
            if (current != null && current.isOpen()) {
                draining.add(current);
            }
            current = fresh;
            currentExpires = token.expiresAt() == null ? Instant.MAX : token.expiresAt();
            backoff = backoffMin;
            nextAttempt = Instant.MIN;
            log.info("cloud link up: {}", url);
            return fresh;
        } catch (LinkException e) {
            lastError = e.getMessage();
            // a cloud that says when to come back is believed, up to the longest backoff
            Duration wait = e.retryAfter().map(asked -> asked.compareTo(backoffMax) > 0 ? backoffMax : asked)
                    .filter(asked -> asked.compareTo(backoff) > 0).orElse(backoff);
            nextAttempt = clock.instant().plus(wait);
            log.warn("cloud link down: {}; retrying in {} ms", e.getMessage(), wait.toMillis());
            backoff = backoff.multipliedBy(2).compareTo(backoffMax) > 0 ? backoffMax : backoff.multipliedBy(2);
            throw e;
        }
    }

    private synchronized void tick() {
        if (closed) {
            return;
        }
        try {
            if (current != null && !current.isOpen()) {
                lastError = current.closeReason();
                log.warn("cloud link lost: {}", lastError);
                current = null;
            }
            Instant now = clock.instant();
            if (current == null && !now.isBefore(nextAttempt)) {
                connect();
            } else if (current != null && now.isAfter(currentExpires.minus(rotationMargin()))) {
                connect(); // a fresh token on a fresh connection; the old one drains
            }
        } catch (LinkException e) {
            // recorded by connect(); the next tick tries again after the backoff
        } catch (RuntimeException e) {
            log.warn("cloud link upkeep failed", e);
        }
        draining.removeIf(c -> {
            if (c.isOpen() && c.sessions() > 0) {
                return false;
            }
            c.close(1000, "replaced by a connection with a fresh token");
            return true;
        });
    }

    private Duration rotationMargin() {
        return Duration.ofSeconds(30);
    }

    @Override
    public synchronized void close() {
        closed = true;
        ticker.shutdownNow();
        if (current != null) {
            current.close(1001, "the edge is shutting down");
        }
        draining.forEach(c -> c.close(1001, "the edge is shutting down"));
    }
}
