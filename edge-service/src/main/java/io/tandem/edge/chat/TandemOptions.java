package io.tandem.edge.chat;

import java.util.Locale;

/**
 * The Tandem extension of a request: the route asked for, how sensitive the data is, whether the
 * user consents to it leaving the device, the time to first token the caller needs, and for the
 * split route where to split (else the configured point).
 */
public record TandemOptions(Route route, Sensitivity sensitivity, Integer latencySloMs, Integer splitLayer,
                            boolean offloadConsent) {

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

    public static final TandemOptions DEFAULT = new TandemOptions(Route.AUTO, Sensitivity.INTERNAL, null, null, true);
}
