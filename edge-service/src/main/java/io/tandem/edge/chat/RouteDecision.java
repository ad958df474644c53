package io.tandem.edge.chat;

import io.tandem.edge.error.ApiProblem;
import io.tandem.edge.link.CloudRoutes;
import io.tandem.model.wire.Mode;
import java.util.List;

/**
 * Where a request runs and why: {@code mode} is what the cloud runs (null for local). Asking for
 * split or cloud on an edge without a cloud link is refused openly, never silently answered
 * locally; a link that fails during the answer is a warning, not an error.
 */
public record RouteDecision(TandemOptions.Route route, String reason, List<String> warnings, Mode mode) {

    /**
     * @param cloud the cloud routes, or null when no link is configured
     * @param layers the local model's layer count, to check a split point against
     */
    public static RouteDecision decide(TandemOptions options, CloudRoutes cloud, int layers) {
        return switch (options.route()) {
            case AUTO -> new RouteDecision(TandemOptions.Route.LOCAL, cloud == null
                    ? "auto: local is the only route this edge has (no cloud link is configured)"
                    : "auto: local by default (routing policy not configured)", List.of(), null);
            case LOCAL -> new RouteDecision(TandemOptions.Route.LOCAL, "local requested", List.of(), null);
            case SPLIT -> {
                requireLink(options, cloud);
                int k = options.splitLayer() != null ? options.splitLayer() : cloud.defaultSplitLayer();
                if (k < 1 || k > layers - 1) {
                    throw ApiProblem.invalid("tandem.split_layer", "split layer " + k + " is outside 1.." + (layers - 1)
                            + ": the model has " + layers + " layers and each side needs at least one");
                }
                yield new RouteDecision(TandemOptions.Route.SPLIT, "split requested: layers 0.." + (k - 1)
                        + " on this device, " + k + ".." + (layers - 1) + " in the cloud", List.of(), Mode.split(k));
            }
            case CLOUD -> {
                requireLink(options, cloud);
                yield new RouteDecision(TandemOptions.Route.CLOUD, "cloud requested: the cloud decodes, token ids only",
                        List.of(), Mode.FULL);
            }
        };
    }

    private static void requireLink(TandemOptions options, CloudRoutes cloud) {
        if (cloud == null) {
            throw new ApiProblem(ApiProblem.Kind.ROUTE_UNAVAILABLE, "tandem.route",
                    "route " + options.route().label() + " is not available: this edge has no cloud link configured");
        }
    }
}
