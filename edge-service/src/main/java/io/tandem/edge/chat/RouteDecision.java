package io.tandem.edge.chat;

import io.tandem.edge.error.ApiProblem;
import java.util.List;

/**
 * Where a request runs and why. Only the local route exists on this edge so far: asking for split
 * or cloud is refused openly, never silently answered locally.
 */
public record RouteDecision(TandemOptions.Route route, String reason, List<String> warnings) {

    public static RouteDecision decide(TandemOptions options) {
        return switch (options.route()) {
            case AUTO -> new RouteDecision(TandemOptions.Route.LOCAL,
                    "auto: local is the only route this edge has (no cloud link is configured)", List.of());
            case LOCAL -> new RouteDecision(TandemOptions.Route.LOCAL, "local requested", List.of());
            case SPLIT, CLOUD -> throw new ApiProblem(ApiProblem.Kind.ROUTE_UNAVAILABLE, "tandem.route",
                    "route " + options.route().label() + " is not available: this edge has no cloud link configured");
        };
    }
}
