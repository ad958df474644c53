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

    private final Map<AgentConnection, Open> open = new ConcurrentHashMap<>();
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
        open.forEach((connection, held) -> {
            connection.sweepIdle();
            long started = held.assembler().startedAt();
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
     * One of a device's connection slots, taken at the handshake so that a device over its limit is
     * refused before the upgrade. Released once, by whichever comes first: the connection's end, or
     * an upgrade that never reached the handler.
     */
    final class Slot {
        private final String device;
        private final java.util.concurrent.atomic.AtomicBoolean released = new java.util.concurrent.atomic.AtomicBoolean();

        private Slot(String device) {
            this.device = device;
        }

        String device() {
            return device;
        }

        void release() {
            if (released.compareAndSet(false, true)) {
                perDevice.get(device).decrementAndGet();
            }
        }
    }

    /** A connection slot of {@code device}, or null when it has {@code perDevice} connections open already. */
    Slot tryReserve(String device) {
        AtomicInteger mine = perDevice.computeIfAbsent(device, a -> new AtomicInteger());
        if (mine.incrementAndGet() > limits.perDevice()) {
            mine.decrementAndGet();
            return null;
        }
        return new Slot(device);
    }

    /** Why {@code device} was refused a connection. */
    String refusal(String device) {
        return "device " + device + " has " + limits.perDevice() + " connections open, its limit";
    }

    /** Serves a connection in the slot its handshake reserved. */
    void add(AgentConnection connection, MessageAssembler assembler, Slot slot) {
        if (!slot.device().equals(connection.agent())) {
            throw new IllegalArgumentException("the slot of " + slot.device() + " cannot hold a connection of "
                    + connection.agent());
        }
        open.put(connection, new Open(assembler, slot));
        connection.sendLoad(load.get());
    }

    void remove(AgentConnection connection) {
        Open removed = open.remove(connection);
        if (removed != null) {
            removed.slot().release();
        }
    }

    private record Open(MessageAssembler assembler, Slot slot) {
    }

    /** Closes every connection of {@code device}, e.g. when it was revoked. */
    public void closeDevice(String device, int code, String reason) {
        open.keySet().stream().filter(c -> c.agent().equals(device)).forEach(c -> c.closeWith(code, reason));
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
