package io.tandem.cloud.session;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;

/** The cloud's meters, named once here. */
public final class CloudMetrics {

    private final MeterRegistry registry;
    private final Timer stepLatency;
    private final RecentStepTime recentSteps = new RecentStepTime();
    private final java.util.concurrent.atomic.AtomicLong kvPositions = new java.util.concurrent.atomic.AtomicLong();

    public CloudMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.stepLatency = Timer.builder("tandem.cloud.step.latency")
                .description("Accelerator time of one session step (prefill or decode; its share of the pass when batched)")
                .publishPercentileHistogram()
                .register(registry);
        io.micrometer.core.instrument.Gauge.builder("tandem.cloud.kv.positions", kvPositions, java.util.concurrent.atomic.AtomicLong::get)
                .description("KV cache held by open sessions, in layer-positions; 0 when every session's cache is freed")
                .register(registry);
    }

    public void sessionOpened(String mode) {
        registry.counter("tandem.cloud.sessions.opened", "mode", mode).increment();
    }

    public void sessionEnded(String reason) {
        registry.counter("tandem.cloud.sessions.ended", "reason", reason).increment();
    }

    public void sessionRefused(String error) {
        registry.counter("tandem.cloud.sessions.refused", "error", error).increment();
    }

    public void step(long nanos, int positions) {
        stepLatency.record(nanos, TimeUnit.NANOSECONDS);
        if (positions == 1) {
            recentSteps.record(nanos); // decode steps only: a prefill's time says nothing of the next token's
        }
        Counter.builder("tandem.cloud.steps").description("Session steps run; rate() gives steps/s")
                .register(registry).increment();
        registry.counter("tandem.cloud.positions").increment(positions);
    }

    /** One token a STREAM session sent on its own (without an input frame from the edge). */
    public void streamed() {
        registry.counter("tandem.cloud.stream.tokens").increment();
    }

    /** One draft verified: how many tokens it proposed and how many stood. */
    public void verified(int drafted, int accepted) {
        registry.counter("tandem.cloud.draft.tokens", "outcome", "drafted").increment(drafted);
        registry.counter("tandem.cloud.draft.tokens", "outcome", "accepted").increment(accepted);
    }

    /**
     * KV cache held, in layer-positions (positions times the layers a session runs): up on every
     * step, down on a rollback and to zero when a session ends and its cache is freed.
     */
    public void kvPositions(long delta) {
        kvPositions.addAndGet(delta);
    }

    public long kvPositionsHeld() {
        return kvPositions.get();
    }

    /** Recent mean decode step time in milliseconds, as the Load frame reports it. */
    public float recentStepMillis() {
        return recentSteps.millis();
    }

    /** Bytes of one frame; {@code kind} is the activation codec label, or {@code tokens} / {@code control}. */
    public void frameBytes(String direction, String kind, int bytes) {
        DistributionSummary.builder("tandem.cloud.frame.bytes").baseUnit("bytes")
                .tags("direction", direction, "codec", kind)
                .register(registry).record(bytes);
    }

    public void handshakeRejected(String reason) {
        registry.counter("tandem.cloud.handshakes.rejected", "reason", reason).increment();
    }

    /** A frame that broke the wire format; {@code kind} is the WireError. */
    public void frameRejected(String kind) {
        registry.counter("tandem.cloud.frames.rejected", "kind", kind).increment();
    }

    /** A session ended at its maximum lifetime however busy it was. */
    public void leaseExpired() {
        registry.counter("tandem.cloud.sessions.lease.expired").increment();
    }

    /** A step refused because its device used up its steps/s. */
    public void stepRefused() {
        registry.counter("tandem.cloud.steps.refused").increment();
    }

    /** A read of the issuer's revocation list failed. */
    public void revocationListFailed() {
        registry.counter("tandem.cloud.revocation.list.failures").increment();
    }

    /** A handshake refused before the upgrade, e.g. {@code too-many-connections}. */
    public void connectionRefused(String reason) {
        registry.counter("tandem.cloud.connections.refused", "reason", reason).increment();
    }

    public void connectionClosed(int code) {
        registry.counter("tandem.cloud.connections.closed", "code", Integer.toString(code)).increment();
    }
}
