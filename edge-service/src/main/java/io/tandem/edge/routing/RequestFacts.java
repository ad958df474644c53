package io.tandem.edge.routing;

import io.tandem.edge.chat.TandemOptions.Route;
import io.tandem.edge.chat.TandemOptions.Sensitivity;

/**
 * What the policy knows of a request: never its text, only its shape and its rules.
 *
 * @param requested      the route asked for; AUTO lets the policy choose
 * @param sensitivity    the data class the caller declared
 * @param offloadConsent whether the user agreed to the request leaving the device at all
 * @param latencySloMs   the time to first token the caller needs, or null for no objective
 * @param promptTokens   prompt length in tokens
 * @param maxTokens      the most tokens the answer may have
 */
public record RequestFacts(Route requested, Sensitivity sensitivity, boolean offloadConsent, Integer latencySloMs,
                           int promptTokens, int maxTokens) {

    public RequestFacts {
        if (requested == null || sensitivity == null) {
            throw new IllegalArgumentException("requested route and sensitivity are required");
        }
        if (promptTokens < 1 || maxTokens < 1) {
            throw new IllegalArgumentException("prompt and max tokens must be >= 1, were " + promptTokens + " and " + maxTokens);
        }
        if (latencySloMs != null && latencySloMs < 1) {
            throw new IllegalArgumentException("latency SLO must be >= 1 ms, was " + latencySloMs);
        }
    }
}
