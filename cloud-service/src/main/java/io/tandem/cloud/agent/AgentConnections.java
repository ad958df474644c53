package io.tandem.cloud.agent;

import io.tandem.cloud.session.AgentConnection;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** The open agent connections: swept for idle sessions once a second, counted for metrics. */
public final class AgentConnections implements AutoCloseable {

    private final Set<AgentConnection> open = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "tandem-idle-sweeper");
        t.setDaemon(true);
        return t;
    });

    public AgentConnections() {
        sweeper.scheduleWithFixedDelay(() -> open.forEach(AgentConnection::sweepIdle), 1, 1, TimeUnit.SECONDS);
    }

    void add(AgentConnection connection) {
        open.add(connection);
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
