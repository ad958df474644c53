package io.tandem.edge.chat;

import java.util.Locale;

/**
 * The Tandem extension of a request: the route asked for, how sensitive the data is, whether the
 * user consents to it leaving the device, the time to first token the caller needs, and for the
 * split route where to split (else the configured point); whether the answer carries the full
 * routing trace, and whether the oldest turns of a chat may be left out to fit the context.
 */
public record TandemOptions(Route route, Sensitivity sensitivity, Integer latencySloMs, Integer splitLayer,
                            boolean offloadConsent, boolean trace, boolean trimHistory) {

    public enum Route {
        AUTO, LOCAL, SPLIT, CLOUD, ESCALATE;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public enum Sensitivity {
        PUBLIC, INTERNAL, PERSONAL, RESTRICTED;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public static final TandemOptions DEFAULT = new TandemOptions(Route.AUTO, Sensitivity.INTERNAL, null, null, true, false, false);

    /** The keys of the {@code tandem} object; any other is refused. */
    public static final java.util.Set<String> KEYS = java.util.Set.of("route", "split_layer", "sensitivity",
            "latency_slo_ms", "offload_consent", "trace", "trim_history");
}
