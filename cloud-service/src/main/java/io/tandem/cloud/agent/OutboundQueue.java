package io.tandem.cloud.agent;

import java.util.concurrent.atomic.AtomicLong;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;
import reactor.util.concurrent.Queues;

/**
 * The frames waiting to go to one agent, bounded in count and bytes: Netty takes them as fast as
 * the socket drains, so they only pile up for an agent that does not read, and {@link #offer}
 * refuses once the bounds are reached instead of growing the heap. Queued bytes also add up in a
 * total over all connections, for the metric. The frame bound is rounded up to a power of two
 * (at least 8), as Reactor's bounded queues are.
 */
final class OutboundQueue {

    private final Sinks.Many<byte[]> sink;
    private final long maxBytes;
    private final AtomicLong queued = new AtomicLong();
    private final AtomicLong total;

    OutboundQueue(int maxFrames, long maxBytes, AtomicLong total) {
        this.sink = Sinks.many().unicast().onBackpressureBuffer(Queues.<byte[]>get(maxFrames).get());
        this.maxBytes = maxBytes;
        this.total = total;
    }

    /** Queues a frame; false when the queue is full or closed (the frame is dropped). */
    synchronized boolean offer(byte[] frame) {
        if (queued.get() + frame.length > maxBytes) {
            return false;
        }
        queued.addAndGet(frame.length);
        total.addAndGet(frame.length);
        if (sink.tryEmitNext(frame).isFailure()) {
            queued.addAndGet(-frame.length);
            total.addAndGet(-frame.length);
            return false;
        }
        return true;
    }

    synchronized void complete() {
        sink.tryEmitComplete();
    }

    /** The frames, for the socket; what is still queued when it ends no longer counts. */
    Flux<byte[]> frames() {
        return sink.asFlux()
                .doOnNext(frame -> {
                    queued.addAndGet(-frame.length);
                    total.addAndGet(-frame.length);
                })
                .doFinally(signal -> total.addAndGet(-queued.getAndSet(0)));
    }

    long queuedBytes() {
        return queued.get();
    }
}
