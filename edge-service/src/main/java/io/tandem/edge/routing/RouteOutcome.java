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
    private volatile String delivery;
    private volatile String draft;
    private int rounds;
    private int drafted;
    private int accepted;
    private int gammaMin = Integer.MAX_VALUE;
    private int gammaMax;
    private int droppedTokens;

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

    /** How the cloud's tokens came: lockstep, stream or speculative, and the draft when there was one. */
    public void delivery(String kind, String draftKind) {
        delivery = kind;
        draft = draftKind;
    }

    /** One speculative round: {@code drafted} tokens proposed (0: a plain step), {@code accepted} stood; gamma is now {@code gamma}. */
    public synchronized void linkRound(int drafted, int accepted, int gamma) {
        rounds++;
        this.drafted += drafted;
        this.accepted += accepted;
        if (drafted > 0) {
            gammaMin = Math.min(gammaMin, drafted);
            gammaMax = Math.max(gammaMax, drafted);
        }
    }

    /** Tokens the cloud streamed past the end of the answer (a stop string, a cancel), thrown away here. */
    public synchronized void dropped(int tokens) {
        droppedTokens += tokens;
    }

    /** The link's side of the answer, or null when no cloud delivery ran. */
    public synchronized Link link() {
        if (delivery == null) {
            return null;
        }
        return new Link(delivery, draft, rounds, drafted, accepted, drafted == 0 ? null : accepted / (double) drafted,
                gammaMax == 0 ? null : gammaMin, gammaMax == 0 ? null : gammaMax, droppedTokens);
    }

    /**
     * @param rounds     verification rounds (speculative)
     * @param acceptance accepted / drafted, null before any draft
     */
    public record Link(String delivery, String draft, int rounds, int drafted, int accepted, Double acceptance,
                       Integer minGamma, Integer maxGamma, int droppedTokens) {
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
