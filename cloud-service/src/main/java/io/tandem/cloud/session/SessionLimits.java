package io.tandem.cloud.session;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Open sessions counted per agent (device) and in total, across all of the agents' connections.
 * The last {@code reserved} slots of the total only go to an agent's first session: however many
 * sessions a few busy devices hold, another device can still open one.
 */
public final class SessionLimits {

    private final int perAgent;
    private final int total;
    private final int reserved;
    private final AtomicInteger open = new AtomicInteger();
    private final ConcurrentHashMap<String, AtomicInteger> byAgent = new ConcurrentHashMap<>();

    public SessionLimits(int perAgent, int total) {
        this(perAgent, total, 0);
    }

    public SessionLimits(int perAgent, int total, int reserved) {
        if (perAgent < 1 || total < 1) {
            throw new IllegalArgumentException("session limits must be >= 1, were " + perAgent + " per agent and " + total + " in total");
        }
        if (reserved < 0 || reserved >= total) {
            throw new IllegalArgumentException("reserved sessions must be in 0.." + (total - 1) + ", was " + reserved);
        }
        this.perAgent = perAgent;
        this.total = total;
        this.reserved = reserved;
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
        if (mine.get() > 1 && open.get() > total - reserved) {
            mine.decrementAndGet();
            open.decrementAndGet();
            return "the cloud keeps its last " + reserved + " of " + total
                    + " sessions for devices without one; agent " + agent + " already has " + (mine.get()) + " open";
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

    public int reserved() {
        return reserved;
    }

    /** Sessions {@code agent} holds now. */
    public int openBy(String agent) {
        AtomicInteger mine = byAgent.get(agent);
        return mine == null ? 0 : mine.get();
    }
}
