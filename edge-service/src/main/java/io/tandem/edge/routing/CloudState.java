package io.tandem.edge.routing;

/**
 * The cloud as the edge sees it.
 *
 * @param configured     whether this edge has a cloud link at all
 * @param breaker        the circuit breaker's state on the link
 * @param sessionsFree   whether the bulkhead has room for another cloud session
 * @param region         the region of the cloud endpoint (configured on the edge, not claimed by the cloud)
 * @param queueDepth     steps waiting on the cloud, from its last Load report (0 when unknown)
 * @param stepMs         the cloud's recent whole-model step time, from its Load report, else the configured guess
 * @param loadReported   whether queueDepth and stepMs came from a fresh Load report
 * @param splitLayer     the split point SPLIT would use
 */
public record CloudState(boolean configured, Breaker breaker, boolean sessionsFree, String region, int queueDepth,
                         double stepMs, boolean loadReported, int splitLayer) {

    public enum Breaker { CLOSED, HALF_OPEN, OPEN }

    public static CloudState none() {
        return new CloudState(false, Breaker.OPEN, false, "", 0, 1, false, 1);
    }

    /** The same state with another split point (a request's own). */
    public CloudState withSplitLayer(int layer) {
        return new CloudState(configured, breaker, sessionsFree, region, queueDepth, stepMs, loadReported, layer);
    }

    public boolean usable() {
        return configured && breaker != Breaker.OPEN && sessionsFree;
    }
}
