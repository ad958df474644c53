package io.tandem.edge.chat;

import java.util.Locale;

/**
 * The Tandem extension of a request: the route asked for, how sensitive the data is, and the
 * latency the caller needs.
 */
public record TandemOptions(Route route, Sensitivity sensitivity, Integer latencySloMs) {

    public enum Route {
        AUTO, LOCAL, SPLIT, CLOUD;

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

    public static final TandemOptions DEFAULT = new TandemOptions(Route.AUTO, Sensitivity.INTERNAL, null);
}
