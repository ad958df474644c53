package io.tandem.cloud.agent;

import java.util.concurrent.atomic.AtomicLong;

/** Bytes of unfinished fragmented messages over all connections, against one limit. */
public final class FragmentMemory {

    private final long limit;
    private final AtomicLong used = new AtomicLong();

    public FragmentMemory(long limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("fragment memory must be positive, was " + limit);
        }
        this.limit = limit;
    }

    /** Takes {@code bytes}, or nothing and returns false when that would pass the limit. */
    boolean tryReserve(long bytes) {
        long now;
        do {
            now = used.get();
            if (now + bytes > limit) {
                return false;
            }
        } while (!used.compareAndSet(now, now + bytes));
        return true;
    }

    void release(long bytes) {
        used.addAndGet(-bytes);
    }

    public long used() {
        return used.get();
    }

    public long limit() {
        return limit;
    }
}
