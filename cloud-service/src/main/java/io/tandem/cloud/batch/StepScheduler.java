package io.tandem.cloud.batch;

import io.tandem.model.runtime.BatchedRunner;
import io.tandem.model.runtime.BatchedSequence;
import io.tandem.model.runtime.StageInput;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the steps of many sequences over one {@link BatchedRunner}: callers submit a step and get
 * a future of its logits; one thread forms passes with a {@link BatchPlanner} and runs them. A
 * bad input fails only its own step (it is checked on submission, before it can join a batch); a
 * pass that fails fails its rows.
 */
public final class StepScheduler implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(StepScheduler.class);

    /** What the scheduler reports: one call per pass and per finished step. */
    public interface Listener {
        /** A pass ran {@code rows} rows ({@code positions} each) in {@code nanos}. */
        void pass(int rows, int positions, long nanos);

        /** A step finished {@code nanos} after it was submitted (waiting included). */
        void step(long nanos, int positions);

        Listener NONE = new Listener() {
            @Override
            public void pass(int rows, int positions, long nanos) {
            }

            @Override
            public void step(long nanos, int positions) {
            }
        };
    }

    /** One sequence's handle: submit its steps one at a time, close it when done. */
    public final class Sequence implements AutoCloseable {
        private final long id;
        private final String agent;
        private final BatchedSequence state;
        private boolean closed;
        private boolean busy;
        /** Counted among the sequences that may send a decode step (open, past its prompt, not running). */
        private boolean counted;
        /** This sequence's share of the passes its current or last step ran in. */
        private volatile long computeNanos;

        private Sequence(long id, String agent, BatchedSequence state) {
            this.id = id;
            this.agent = agent;
            this.state = state;
        }

        public int length() {
            return state.length();
        }

        /**
         * What the last step cost in pass time: each pass's duration divided by its rows, summed over
         * the passes (prompt chunks) the step took. Waiting for a pass is not included.
         */
        public long lastComputeNanos() {
            return computeNanos;
        }

        /**
         * Queues the step; the future completes with the logits of its last position (valid until
         * this sequence's next step) or fails with the step's error.
         */
        public CompletableFuture<FloatBuffer> submit(StageInput input) {
            return StepScheduler.this.submit(this, input);
        }

        /** Blocks for {@link #submit}'s result, rethrowing a step's error as it was thrown. */
        public FloatBuffer forward(StageInput input) {
            try {
                return submit(input).join();
            } catch (java.util.concurrent.CompletionException e) {
                if (e.getCause() instanceof RuntimeException r) {
                    throw r;
                }
                throw e;
            }
        }

        @Override
        public void close() {
            StepScheduler.this.close(this);
        }
    }

    /** A submitted step: the rest of its input, and whom to tell. */
    private record Step(Sequence sequence, StageInput input, CompletableFuture<FloatBuffer> done, long submitted,
                        int positions) {
    }

    private final String name;
    private final BatchedRunner runner;
    private final BatchSettings settings;
    private final Clock clock;
    private final Listener listener;
    private final BatchPlanner<Step> planner;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final AtomicLong ids = new AtomicLong();
    private final Thread thread;
    private int open;
    private int decoding;
    private volatile boolean stopped;

    /**
     * @param clock the clock waits are measured on (the system clock in production)
     */
    public StepScheduler(String name, BatchedRunner runner, BatchSettings settings, Clock clock, Listener listener) {
        if (settings.maxBatch() > runner.maxRows()) {
            throw new IllegalArgumentException("max-batch " + settings.maxBatch() + " exceeds the runner's "
                    + runner.maxRows() + " rows");
        }
        this.name = name;
        this.runner = runner;
        this.settings = settings;
        this.clock = clock;
        this.listener = listener;
        this.planner = new BatchPlanner<>(settings);
        this.thread = Thread.ofPlatform().name("tandem-batch-" + name).daemon().start(this::loop);
    }

    public String name() {
        return name;
    }

    public BatchedRunner runner() {
        return runner;
    }

    public BatchSettings settings() {
        return settings;
    }

    public Sequence open(String agent) {
        lock.lock();
        try {
            if (stopped) {
                throw new IllegalStateException("the scheduler for " + name + " is stopped");
            }
            open++;
            return new Sequence(ids.incrementAndGet(), agent, runner.newSequence());
        } finally {
            lock.unlock();
        }
    }

    /** Steps waiting to run. */
    public int queueDepth() {
        lock.lock();
        try {
            return planner.waiting();
        } finally {
            lock.unlock();
        }
    }

    /** Open sequences. */
    public int sequences() {
        lock.lock();
        try {
            return open;
        } finally {
            lock.unlock();
        }
    }

    private CompletableFuture<FloatBuffer> submit(Sequence sequence, StageInput input) {
        CompletableFuture<FloatBuffer> done = new CompletableFuture<>();
        lock.lock();
        try {
            if (sequence.closed) {
                throw new IllegalStateException("sequence is closed");
            }
            if (stopped) {
                throw new IllegalStateException("the scheduler for " + name + " stopped");
            }
            if (sequence.busy) {
                throw new IllegalStateException("a sequence runs one step at a time");
            }
            runner.check(sequence.state, input);
            sequence.busy = true;
            sequence.computeNanos = 0;
            Step step = new Step(sequence, input, done, System.nanoTime(), input.positions());
            enqueue(step, true);
            changed.signalAll();
        } catch (RuntimeException e) {
            done.completeExceptionally(e);
        } finally {
            lock.unlock();
        }
        return done;
    }

    private void enqueue(Step step, boolean fresh) {
        long now = nanos();
        BatchPlanner.Waiting<Step> waiting = new BatchPlanner.Waiting<>(step.sequence().agent, step.sequence().id, step, now);
        if (step.input().positions() == 1 && step.sequence().state.length() > 0) {
            planner.addDecode(waiting);
        } else if (fresh) {
            planner.addSolo(waiting);
        } else {
            planner.resumeSolo(waiting);
        }
    }

    private void close(Sequence sequence) {
        lock.lock();
        try {
            if (sequence.closed) {
                return;
            }
            sequence.closed = true;
            open--;
            uncount(sequence);
            for (BatchPlanner.Waiting<Step> w : planner.remove(sequence.id)) {
                sequence.busy = false;
                w.step().done().completeExceptionally(new IllegalStateException("sequence is closed"));
            }
            if (!sequence.busy) {
                sequence.state.close();
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void count(Sequence sequence) {
        if (!sequence.counted && !sequence.closed && sequence.state.length() > 0) {
            sequence.counted = true;
            decoding++;
        }
    }

    private void uncount(Sequence sequence) {
        if (sequence.counted) {
            sequence.counted = false;
            decoding--;
        }
    }

    private long nanos() {
        // the injected clock gives wall time for waits; millis are too coarse for a 2 ms wait, so
        // scale its instant to nanoseconds
        java.time.Instant now = clock.instant();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    private void loop() {
        while (true) {
            BatchPlanner.Decision<Step> decision;
            lock.lock();
            try {
                while (true) {
                    if (stopped) {
                        return;
                    }
                    decision = planner.next(nanos(), decoding);
                    if (decision instanceof BatchPlanner.Decision.Wait<Step> wait) {
                        changed.awaitNanos(wait.nanos());
                    } else if (decision instanceof BatchPlanner.Decision.Idle<Step>) {
                        changed.await();
                    } else {
                        break;
                    }
                }
            } catch (InterruptedException e) {
                return;
            } finally {
                lock.unlock();
            }
            switch (decision) {
                case BatchPlanner.Decision.Batch<Step> batch -> runBatch(batch.rows().stream().map(BatchPlanner.Waiting::step).toList());
                case BatchPlanner.Decision.Solo<Step> solo -> runSolo(solo.step().step());
                case BatchPlanner.Decision.Wait<Step> w -> { }
                case BatchPlanner.Decision.Idle<Step> i -> { }
            }
        }
    }

    private void runBatch(List<Step> steps) {
        lock.lock();
        try {
            steps.forEach(s -> uncount(s.sequence()));
        } finally {
            lock.unlock();
        }
        List<BatchedRunner.Row> rows = new ArrayList<>(steps.size());
        for (Step s : steps) {
            rows.add(new BatchedRunner.Row(s.sequence().state, s.input()));
        }
        long start = System.nanoTime();
        try {
            runner.run(rows);
            long nanos = System.nanoTime() - start;
            listener.pass(rows.size(), 1, nanos);
            for (Step s : steps) {
                s.sequence().computeNanos += nanos / rows.size();
            }
            for (Step s : steps) {
                finish(s, null);
            }
        } catch (RuntimeException e) {
            log.warn("a batched pass of {} rows on {} failed", rows.size(), name, e);
            for (Step s : steps) {
                finish(s, e);
            }
        }
    }

    private void runSolo(Step step) {
        int chunk = Math.min(settings.prefillChunk(), step.input().positions());
        StageInput now = chunk == step.input().positions() ? step.input() : slice(step.input(), 0, chunk);
        lock.lock();
        try {
            uncount(step.sequence());
        } finally {
            lock.unlock();
        }
        long start = System.nanoTime();
        try {
            runner.run(List.of(new BatchedRunner.Row(step.sequence().state, now)));
            long nanos = System.nanoTime() - start;
            listener.pass(1, chunk, nanos);
            step.sequence().computeNanos += nanos;
        } catch (RuntimeException e) {
            finish(step, e);
            return;
        }
        if (chunk == step.input().positions()) {
            finish(step, null);
            return;
        }
        Step rest = new Step(step.sequence(), slice(step.input(), chunk, step.input().positions()), step.done(),
                step.submitted(), step.positions());
        lock.lock();
        try {
            if (rest.sequence().closed) {
                rest.sequence().busy = false;
                rest.sequence().state.close();
                rest.done().completeExceptionally(new IllegalStateException("sequence is closed"));
                return;
            }
            enqueue(rest, false);
        } finally {
            lock.unlock();
        }
    }

    private void finish(Step step, RuntimeException error) {
        Sequence sequence = step.sequence();
        lock.lock();
        try {
            sequence.busy = false;
            if (sequence.closed) {
                sequence.state.close();
            } else {
                count(sequence);
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (error != null) {
            step.done().completeExceptionally(error);
            return;
        }
        listener.step(System.nanoTime() - step.submitted(), step.positions());
        step.done().complete(sequence.state.logits());
    }

    /** Positions {@code [from, to)} of a step's input. */
    static StageInput slice(StageInput input, int from, int to) {
        return switch (input) {
            case StageInput.Tokens tokens -> new StageInput.Tokens(Arrays.copyOfRange(tokens.ids(), from, to));
            case StageInput.Hidden hidden -> {
                int width = hidden.bytes().remaining() / hidden.positions();
                ByteBuffer part = hidden.bytes().duplicate();
                part.position(hidden.bytes().position() + from * width).limit(hidden.bytes().position() + to * width);
                yield new StageInput.Hidden(part.slice(), to - from);
            }
        };
    }

    @Override
    public void close() {
        lock.lock();
        try {
            stopped = true;
            // nobody may wait for a pass that will never run
            for (BatchPlanner.Waiting<Step> w : planner.drain()) {
                w.step().sequence().busy = false;
                w.step().done().completeExceptionally(new IllegalStateException("the scheduler for " + name + " stopped"));
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
