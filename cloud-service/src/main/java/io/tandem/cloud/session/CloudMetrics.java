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

    public CloudMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.stepLatency = Timer.builder("tandem.cloud.step.latency")
                .description("Accelerator time of one session step (prefill or decode; its share of the pass when batched)")
                .publishPercentileHistogram()
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

    public void connectionClosed(int code) {
        registry.counter("tandem.cloud.connections.closed", "code", Integer.toString(code)).increment();
    }
}
