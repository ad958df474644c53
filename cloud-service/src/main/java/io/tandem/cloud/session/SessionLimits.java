package io.tandem.cloud.session;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** Open sessions counted per agent and in total, across all of the agents' connections. */
public final class SessionLimits {

    private final int perAgent;
    private final int total;
    private final AtomicInteger open = new AtomicInteger();
    private final ConcurrentHashMap<String, AtomicInteger> byAgent = new ConcurrentHashMap<>();

    public SessionLimits(int perAgent, int total) {
        if (perAgent < 1 || total < 1) {
            throw new IllegalArgumentException("session limits must be >= 1, were " + perAgent + " per agent and " + total + " in total");
        }
        this.perAgent = perAgent;
        this.total = total;
    }

    /** Takes a slot for {@code agent}, or returns why not (null when taken). */
    public String tryAcquire(String agent) {
        if (open.incrementAndGet() > total) {
            open.decrementAndGet();
            return "the cloud has " + total + " sessions open, its limit";
        }
        AtomicInteger mine = byAgent.computeIfAbsent(agent, a -> new AtomicInteger());
        if (mine.incrementAndGet() > perAgent) {
            mine.decrementAndGet();
            open.decrementAndGet();
            return "agent " + agent + " has " + perAgent + " sessions open, its limit";
        }
        return null;
    }

    public void release(String agent) {
        AtomicInteger mine = byAgent.get(agent);
        if (mine != null) {
            mine.decrementAndGet();
        }
        open.decrementAndGet();
    }

    public int open() {
        return open.get();
    }

    public int perAgent() {
        return perAgent;
    }

    public int total() {
        return total;
    }
}
