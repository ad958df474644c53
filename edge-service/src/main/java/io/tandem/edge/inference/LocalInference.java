package io.tandem.edge.inference;

import io.tandem.model.engine.Engine;
import io.tandem.model.generate.GeneratedToken;
import io.tandem.model.generate.GenerationListener;
import io.tandem.model.generate.GenerationRequest;
import io.tandem.model.generate.GenerationResult;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;

/**
 * Runs local generations on a bounded pool of worker threads, never on the event loop: at most
 * {@code maxActive} at once, at most {@code maxQueued} waiting, the rest refused at once with
 * {@link OverloadedException}. A subscriber that cancels (a client that disconnects) stops its
 * generation within one token, or takes it out of the queue, and frees its slot.
 */
public final class LocalInference implements AutoCloseable {

    private final Engine engine;
    private final ThreadPoolExecutor workers;
    private final int maxActive;
    private final Duration retryAfter;
    private final AtomicInteger running = new AtomicInteger();

    public LocalInference(Engine engine, int maxActive, int maxQueued, Duration retryAfter) {
        if (maxActive < 1) {
            throw new IllegalArgumentException("maxActive must be at least 1, was " + maxActive);
        }
        this.engine = engine;
        this.maxActive = maxActive;
        this.retryAfter = retryAfter;
        BlockingQueue<Runnable> queue = maxQueued == 0 ? new SynchronousQueue<>() : new ArrayBlockingQueue<>(maxQueued);
        AtomicInteger threadCount = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(maxActive, maxActive, 60, TimeUnit.SECONDS, queue, r -> {
            Thread t = new Thread(r, "tandem-local-" + threadCount.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    public Engine engine() {
        return engine;
    }

    public int maxActive() {
        return maxActive;
    }

    /** Generations running now. */
    public int active() {
        return running.get();
    }

    /** Generations waiting for a slot. */
    public int queued() {
        return workers.getQueue().size();
    }

    /** Running generations as a share of the slots, 0..1. */
    public double utilization() {
        return (double) active() / maxActive;
    }

    /**
     * Admits one generation: it starts as soon as a slot is free, whether or not anyone has
     * subscribed yet (events are buffered). Throws {@link OverloadedException} at once when every
     * slot is busy and the queue is full. Cancelling the returned flux stops the generation within
     * one token, or takes it out of the queue.
     */
    public Flux<InferenceEvent> submit(GenerationRequest request) {
        Sinks.Many<InferenceEvent> sink = Sinks.many().unicast().onBackpressureBuffer();
        AtomicBoolean cancelled = new AtomicBoolean();
        long enqueued = System.nanoTime();
        Runnable task = () -> run(request, sink, cancelled, enqueued);
        try {
            workers.execute(task);
        } catch (RejectedExecutionException e) {
            throw new OverloadedException(maxActive, queued(), retryAfter);
        }
        return sink.asFlux().doOnCancel(() -> {
            cancelled.set(true);
            workers.remove(task);
        });
    }

    private void run(GenerationRequest request, Sinks.Many<InferenceEvent> sink, AtomicBoolean cancelled, long enqueued) {
        if (cancelled.get()) {
            return;
        }
        running.incrementAndGet();
        try {
            emit(sink, cancelled, new InferenceEvent.Started(System.nanoTime() - enqueued));
            GenerationResult result = engine.generate(request, new GenerationListener() {
                @Override
                public void onToken(GeneratedToken token) {
                    emit(sink, cancelled, new InferenceEvent.Token(token));
                }

                @Override
                public void onTrailingText(String text) {
                    emit(sink, cancelled, new InferenceEvent.TrailingText(text));
                }
            }, cancelled::get);
            emit(sink, cancelled, new InferenceEvent.Finished(result));
            sink.tryEmitComplete();
        } catch (RuntimeException e) {
            sink.tryEmitError(e);
        } finally {
            running.decrementAndGet();
        }
    }

    /** Only this worker emits, so a failed emission means the subscriber is gone: stop generating. */
    private static void emit(Sinks.Many<InferenceEvent> sink, AtomicBoolean cancelled, InferenceEvent event) {
        if (sink.tryEmitNext(event).isFailure()) {
            cancelled.set(true);
        }
    }

    @Override
    public void close() {
        workers.shutdownNow();
        engine.close();
    }
}
