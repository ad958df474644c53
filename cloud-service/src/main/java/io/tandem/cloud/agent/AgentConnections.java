package io.tandem.cloud.agent;

import io.tandem.cloud.config.ConnectionProperties;
import io.tandem.cloud.session.AgentConnection;
import io.tandem.model.wire.Frame;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The open agent connections, counted per device against its limit: swept once a second for idle
 * sessions, sessions past their lifetime, idle connections and fragmented messages left
 * unfinished too long, and told the cloud's load once a second (and on connect).
 */
public final class AgentConnections implements AutoCloseable {

    private final Map<AgentConnection, MessageAssembler> open = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, AtomicInteger> perDevice = new ConcurrentHashMap<>();
    private final ScheduledExecutorService sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "tandem-idle-sweeper");
        t.setDaemon(true);
        return t;
    });

    private final Supplier<Frame.Load> load;
    private final ConnectionProperties limits;
    private final Clock clock;

    /** @param load the cloud's load now, sent to every agent */
    public AgentConnections(Supplier<Frame.Load> load, ConnectionProperties limits, Clock clock) {
        this.load = load;
        this.limits = limits;
        this.clock = clock;
        sweeper.scheduleWithFixedDelay(this::upkeep, 1, 1, TimeUnit.SECONDS);
    }

    private void upkeep() {
        long now = clock.millis();
        long idle = limits.idleTimeout().toMillis();
        long fragments = limits.fragmentTimeout().toMillis();
        open.forEach((connection, assembler) -> {
            connection.sweepIdle();
            long started = assembler.startedAt();
            if (started >= 0 && now - started > fragments) {
                connection.closeWith(ConnectionPolicy.MESSAGE_INCOMPLETE.closeCode(), "a fragmented message stayed"
                        + " unfinished for more than " + limits.fragmentTimeout().toSeconds() + " s");
            } else if (connection.sessions() == 0 && now - Math.max(connection.lastInboundMillis(), started) > idle) {
                connection.closeWith(ConnectionPolicy.IDLE.closeCode(), "no frame and no session for "
                        + limits.idleTimeout().toSeconds() + " s");
            }
        });
        Frame.Load report = load.get();
        open.keySet().forEach(c -> c.sendLoad(report));
    }

    /**
     * Takes a connection of its device, or returns why not (null when taken): a device has at most
     * {@code perDevice} connections open.
     */
    String tryAdd(AgentConnection connection, MessageAssembler assembler) {
        AtomicInteger mine = perDevice.computeIfAbsent(connection.agent(), a -> new AtomicInteger());
        if (mine.incrementAndGet() > limits.perDevice()) {
            mine.decrementAndGet();
            return "device " + connection.agent() + " has " + limits.perDevice() + " connections open, its limit";
        }
        open.put(connection, assembler);
        connection.sendLoad(load.get());
        return null;
    }

    void remove(AgentConnection connection) {
        if (open.remove(connection) != null) {
            perDevice.get(connection.agent()).decrementAndGet();
        }
    }

    public int count() {
        return open.size();
    }

    /** Connections {@code device} holds now. */
    public int countOf(String device) {
        AtomicInteger mine = perDevice.get(device);
        return mine == null ? 0 : mine.get();
    }

    public int sessions() {
        return open.keySet().stream().mapToInt(AgentConnection::sessions).sum();
    }

    /** Going down: every agent is told, so it can finish its answers locally. */
    @Override
    public void close() {
        sweeper.shutdownNow();
        open.keySet().forEach(c -> c.closeWith(1001, "the cloud is shutting down"));
    }
}
