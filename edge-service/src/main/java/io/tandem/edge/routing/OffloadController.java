package io.tandem.edge.routing;

import java.time.Clock;

/**
 * Raises the bar for offloading when the cloud gets busy or dear, and lowers it when that passes.
 * Its output, the offload pressure, is 0 (normal) to 1 (as reluctant as allowed): the policy lifts
 * the local utilization threshold and lowers the escalation threshold in proportion.
 *
 * <p>Each signal is normalised to 0..1 against its reference (a queue of {@code queueReference}
 * steps, a step {@code latencyReferenceMs} slower than usual, a price {@code priceReference} times
 * the base price), the largest one is the target, and the pressure follows the target as a
 * first-order lag with time constant {@code timeConstantSeconds} on the injected clock: bounded,
 * smooth, and independent of how often it is updated.
 */
public final class OffloadController {

    private final Clock clock;
    private final double queueReference;
    private final double baselineStepMs;
    private final double latencyReferenceMs;
    private final double priceReference;
    private final double timeConstantSeconds;
    private double pressure;
    private long lastUpdateMillis;
    private boolean started;

    public OffloadController(Clock clock, double queueReference, double baselineStepMs, double latencyReferenceMs,
                             double priceReference, double timeConstantSeconds) {
        if (!(queueReference > 0) || !(baselineStepMs > 0) || !(latencyReferenceMs > 0) || !(priceReference > 1)
                || !(timeConstantSeconds > 0)) {
            throw new IllegalArgumentException("references and time constant must be positive (price reference > 1)");
        }
        this.clock = clock;
        this.queueReference = queueReference;
        this.baselineStepMs = baselineStepMs;
        this.latencyReferenceMs = latencyReferenceMs;
        this.priceReference = priceReference;
        this.timeConstantSeconds = timeConstantSeconds;
    }

    /**
     * Feeds the latest signals and returns the new pressure.
     *
     * @param priceRatio the price signal relative to the base price (1 = normal)
     */
    public synchronized double update(int queueDepth, double stepMs, double priceRatio) {
        double target = target(queueDepth, stepMs, priceRatio);
        long now = clock.millis();
        if (!started) {
            started = true;
            lastUpdateMillis = now;
        }
        double dt = Math.max(0, now - lastUpdateMillis) / 1000.0;
        lastUpdateMillis = now;
        double alpha = 1 - Math.exp(-dt / timeConstantSeconds);
        pressure += alpha * (target - pressure);
        return pressure;
    }

    public synchronized double pressure() {
        return pressure;
    }

    /** The pressure the signals call for, before smoothing: 0..1. */
    double target(int queueDepth, double stepMs, double priceRatio) {
        double queue = queueDepth / queueReference;
        double latency = Double.isFinite(stepMs) ? (stepMs - baselineStepMs) / latencyReferenceMs : 0;
        double price = Double.isFinite(priceRatio) ? (priceRatio - 1) / (priceReference - 1) : 0;
        return clamp(Math.max(queue, Math.max(latency, price)));
    }

    private static double clamp(double x) {
        return Math.max(0, Math.min(1, x));
    }
}
