package io.tandem.edge.routing;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * What happened to one request's route while it ran: where an escalation switched to the cloud,
 * where a cloud route fell back to the device, what the cloud steps cost, and the warnings the
 * caller sees. Written by the generating thread, read when the answer ends.
 */
public final class RouteOutcome {

    private final List<String> warnings = new CopyOnWriteArrayList<>();
    private volatile Integer escalatedAtToken;
    private volatile String escalationReason;
    private volatile Integer fellBackAtToken;
    private volatile String fallbackReason;
    private volatile int cloudSteps;
    private volatile double cost;

    public RouteOutcome(List<String> initialWarnings) {
        warnings.addAll(initialWarnings);
    }

    public void warn(String warning) {
        warnings.add(warning);
    }

    /** The answer moved to the cloud before its token number {@code token} (0-based), because {@code reason}. */
    public void escalated(int token, String reason) {
        escalatedAtToken = token;
        escalationReason = reason;
    }

    /** The cloud route stopped before token number {@code token} and the device finished the answer. */
    public void fellBack(int token, String reason) {
        fellBackAtToken = token;
        fallbackReason = reason;
    }

    public synchronized void cloudStep(double stepCost) {
        cloudSteps++;
        cost += stepCost;
    }

    public List<String> warnings() {
        return List.copyOf(warnings);
    }

    public Integer escalatedAtToken() {
        return escalatedAtToken;
    }

    public String escalationReason() {
        return escalationReason;
    }

    public Integer fellBackAtToken() {
        return fellBackAtToken;
    }

    public String fallbackReason() {
        return fallbackReason;
    }

    public synchronized int cloudSteps() {
        return cloudSteps;
    }

    public synchronized double cost() {
        return cost;
    }
}
