package io.tandem.cloud.batch;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The scheduling decisions, free of threads and clocks: which waiting steps run next and when.
 * Callers pass the time in; the planner never reads a clock, so fairness and waiting are tested on
 * a simulated one.
 *
 * <ul>
 * <li>Decode steps (one position of a sequence that has a past) wait in one queue per agent. A
 *     batch runs when {@code maxBatch} rows wait, when every decoding sequence has a step waiting
 *     (nobody else can come), or when the oldest has waited {@code maxWait}.</li>
 * <li>Rows are taken round-robin over the agents, continuing where the last pass stopped, and
 *     within an agent the session served longest ago first: an agent with many sessions cannot crowd out another, and no
 *     session starves.</li>
 * <li>Solo steps (prompt chunks, multi-position steps, first steps) run one per pass, alternating
 *     with decode batches while both wait, oldest first.</li>
 * </ul>
 *
 * @param <T> what a step carries for the caller
 */
public final class BatchPlanner<T> {

    /** A waiting step. */
    public record Waiting<T>(String agent, long sequenceId, T step, long arrivedNanos) {
    }

    /** What to do next. */
    public sealed interface Decision<T> {
        /** Run these decode rows in one pass. */
        record Batch<T>(List<Waiting<T>> rows) implements Decision<T> {
        }

        /** Run this step alone. */
        record Solo<T>(Waiting<T> step) implements Decision<T> {
        }

        /** Nothing to run before {@code nanos} from now, unless a step arrives. */
        record Wait<T>(long nanos) implements Decision<T> {
        }

        /** Nothing waits. */
        record Idle<T>() implements Decision<T> {
        }
    }

    private final BatchSettings settings;
    private final Map<String, ArrayDeque<Waiting<T>>> decode = new LinkedHashMap<>();
    private final ArrayDeque<Waiting<T>> solo = new ArrayDeque<>();
    private int decodeWaiting;
    /** Agents with waiting decode steps, in arrival order; the round-robin walks it from {@code cursor}. */
    private final List<String> agents = new ArrayList<>();
    private int cursor;
    /** When each sequence last had a row, counted in rows: no two sequences tie. */
    private final Map<Long, Long> lastServed = new java.util.HashMap<>();
    private long served;
    private boolean soloNext;

    public BatchPlanner(BatchSettings settings) {
        this.settings = settings;
    }

    public void addDecode(Waiting<T> step) {
        decode.computeIfAbsent(step.agent(), a -> {
            agents.add(a);
            return new ArrayDeque<>();
        }).add(step);
        decodeWaiting++;
    }

    public void addSolo(Waiting<T> step) {
        solo.add(step);
    }

    /** Puts the rest of a chunked step back at the head of the solo queue: it continues next solo turn. */
    public void resumeSolo(Waiting<T> step) {
        solo.addFirst(step);
    }

    /** Steps waiting, decode and solo. */
    public int waiting() {
        return decodeWaiting + solo.size();
    }

    /**
     * @param nowNanos the current time on the caller's clock
     * @param decoding sequences that could send a decode step now (open, past their prompt, not in a running pass)
     */
    public Decision<T> next(long nowNanos, int decoding) {
        boolean decodeReady = decodeWaiting > 0 && (decodeWaiting >= settings.maxBatch() || decodeWaiting >= decoding
                || nowNanos - oldestDecode() >= settings.maxWait().toNanos());
        if (!solo.isEmpty() && (soloNext || !decodeReady)) {
            soloNext = false;
            return new Decision.Solo<>(solo.poll());
        }
        if (decodeReady) {
            soloNext = !solo.isEmpty();
            return new Decision.Batch<>(takeRows());
        }
        if (decodeWaiting > 0) {
            return new Decision.Wait<>(Math.max(1, oldestDecode() + settings.maxWait().toNanos() - nowNanos));
        }
        return new Decision.Idle<>();
    }

    /** Takes every waiting step out, e.g. when the scheduler stops; returns them. */
    public List<Waiting<T>> drain() {
        List<Waiting<T>> all = new ArrayList<>(solo);
        decode.values().forEach(all::addAll);
        solo.clear();
        decode.clear();
        agents.clear();
        cursor = 0;
        decodeWaiting = 0;
        return all;
    }

    /** Drops every waiting step of {@code sequenceId}, e.g. when its session ends; returns them. */
    public List<Waiting<T>> remove(long sequenceId) {
        lastServed.remove(sequenceId);
        List<Waiting<T>> removed = new ArrayList<>();
        for (ArrayDeque<Waiting<T>> queue : decode.values()) {
            queue.removeIf(w -> {
                boolean match = w.sequenceId() == sequenceId;
                if (match) {
                    removed.add(w);
                }
                return match;
            });
        }
        decodeWaiting -= removed.size();
        solo.removeIf(w -> {
            boolean match = w.sequenceId() == sequenceId;
            if (match) {
                removed.add(w);
            }
            return match;
        });
        for (int i = agents.size() - 1; i >= 0; i--) {
            if (decode.get(agents.get(i)).isEmpty()) {
                decode.remove(agents.remove(i));
                if (i < cursor) {
                    cursor--;
                }
            }
        }
        return removed;
    }

    /**
     * Within an agent, the session served longest ago goes first (then the oldest step): arrival
     * order alone would let sessions whose steps happen to arrive first in a tie win every time.
     */
    private Waiting<T> leastRecentlyServed(ArrayDeque<Waiting<T>> queue) {
        Waiting<T> best = null;
        long bestServed = Long.MAX_VALUE;
        for (Waiting<T> w : queue) {
            long served = lastServed.getOrDefault(w.sequenceId(), -1L);
            if (best == null || served < bestServed || (served == bestServed && w.arrivedNanos() < best.arrivedNanos())) {
                best = w;
                bestServed = served;
            }
        }
        return best;
    }

    private long oldestDecode() {
        long oldest = Long.MAX_VALUE;
        for (ArrayDeque<Waiting<T>> queue : decode.values()) {
            if (!queue.isEmpty()) {
                oldest = Math.min(oldest, queue.peek().arrivedNanos());
            }
        }
        return oldest;
    }

    private List<Waiting<T>> takeRows() {
        // one row per agent in turn, continuing where the last pass stopped: over a few passes every
        // agent with waiting steps gets the same share of rows, however many sessions it has
        List<Waiting<T>> rows = new ArrayList<>();
        while (rows.size() < settings.maxBatch() && decodeWaiting > 0) {
            if (cursor >= agents.size()) {
                cursor = 0;
            }
            ArrayDeque<Waiting<T>> queue = decode.get(agents.get(cursor));
            if (!queue.isEmpty()) {
                Waiting<T> chosen = leastRecentlyServed(queue);
                queue.remove(chosen);
                lastServed.put(chosen.sequenceId(), ++served);
                rows.add(chosen);
                decodeWaiting--;
            }
            cursor++;
        }
        for (int i = agents.size() - 1; i >= 0; i--) {
            if (decode.get(agents.get(i)).isEmpty()) {
                decode.remove(agents.remove(i));
                if (i < cursor) {
                    cursor--;
                }
            }
        }
        return rows;
    }
}
