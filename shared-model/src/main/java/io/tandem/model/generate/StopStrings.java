package io.tandem.model.generate;

import java.util.List;

/**
 * Holds back streamed text that could still turn into a stop string, so a client never sees a
 * stop string or a prefix of one that later completes. Text is released once it can no longer be
 * part of a match.
 */
final class StopStrings {

    private final List<String> stops;
    private final StringBuilder pending = new StringBuilder();
    private boolean matched;

    StopStrings(List<String> stops) {
        this.stops = stops;
    }

    /** Adds text; returns what is safe to release now. After a match, everything from the stop string on is dropped. */
    String accept(String text) {
        if (matched) {
            return "";
        }
        pending.append(text);
        int cut = -1;
        for (String stop : stops) {
            int at = pending.indexOf(stop);
            if (at >= 0 && (cut < 0 || at < cut)) {
                cut = at;
            }
        }
        if (cut >= 0) {
            matched = true;
            String released = pending.substring(0, cut);
            pending.setLength(0);
            return released;
        }
        int hold = 0;
        String held = pending.toString();
        for (String stop : stops) {
            for (int len = Math.min(stop.length() - 1, held.length()); len > hold; len--) {
                if (held.regionMatches(held.length() - len, stop, 0, len)) {
                    hold = len;
                    break;
                }
            }
        }
        String released = pending.substring(0, pending.length() - hold);
        pending.delete(0, pending.length() - hold);
        return released;
    }

    boolean matched() {
        return matched;
    }

    /** At the end without a match, the held-back text is released. */
    String finish() {
        String rest = matched ? "" : pending.toString();
        pending.setLength(0);
        return rest;
    }
}
