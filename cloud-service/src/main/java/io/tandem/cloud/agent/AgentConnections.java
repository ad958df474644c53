package io.tandem.cloud.agent;

import io.tandem.cloud.session.AgentConnection;
import io.tandem.model.wire.Frame;
import java.util.Set;
import java.util.function.Supplier;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The open agent connections: swept for idle sessions and told the cloud's load once a second
 * (and on connect), counted for metrics.
 */
public final class AgentConnections implements AutoCloseable {

    private final Set<AgentConnection> open = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "tandem-idle-sweeper");
        t.setDaemon(true);
        return t;
    });

    private final Supplier<Frame.Load> load;

    /** @param load the cloud's load now, sent to every agent */
    public AgentConnections(Supplier<Frame.Load> load) {
        this.load = load;
        sweeper.scheduleWithFixedDelay(this::upkeep, 1, 1, TimeUnit.SECONDS);
    }

    private void upkeep() {
        open.forEach(AgentConnection::sweepIdle);
        Frame.Load now = load.get();
        open.forEach(c -> c.sendLoad(now));
    }

    void add(AgentConnection connection) {
        open.add(connection);
        connection.sendLoad(load.get());
    }

    void remove(AgentConnection connection) {
        open.remove(connection);
    }

    public int count() {
        return open.size();
    }

    public int sessions() {
        return open.stream().mapToInt(AgentConnection::sessions).sum();
    }

    /** Going down: every agent is told, so it can finish its answers locally. */
    @Override
    public void close() {
        sweeper.shutdownNow();
        open.forEach(c -> c.closeWith(1001, "the cloud is shutting down"));
    }
}
