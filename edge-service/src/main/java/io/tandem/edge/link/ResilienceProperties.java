package io.tandem.edge.link;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The circuit breaker and bulkhead around the cloud link ({@code tandem.resilience}). A call is
 * one cloud session's first exchange (open, prompt, first token); a failure later in a session
 * counts as a failed call too. The time limits for
 * the first token and between tokens are {@code tandem.link.first-token-timeout} and
 * {@code token-timeout}.
 *
 * @param failureRateThreshold    percent of failed calls in the window that opens the breaker
 * @param slowCallRateThreshold   percent of slow calls in the window that opens the breaker
 * @param slowCallDuration        a first token slower than this is slow
 * @param windowSize              the last this many calls are what the rates are computed over
 * @param minimumCalls            calls the window needs before the rates count
 * @param openDuration            how long the breaker stays open before it lets trial calls through
 * @param halfOpenCalls           trial calls that decide between closing and opening again
 * @param maxCloudSessions        cloud sessions this edge runs at once (the bulkhead)
 */
@ConfigurationProperties("tandem.resilience")
public record ResilienceProperties(float failureRateThreshold, float slowCallRateThreshold, Duration slowCallDuration,
                                   int windowSize, int minimumCalls, Duration openDuration, int halfOpenCalls,
                                   int maxCloudSessions) {

    public ResilienceProperties {
        failureRateThreshold = failureRateThreshold == 0 ? 50 : failureRateThreshold;
        slowCallRateThreshold = slowCallRateThreshold == 0 ? 80 : slowCallRateThreshold;
        slowCallDuration = slowCallDuration == null ? Duration.ofSeconds(3) : slowCallDuration;
        windowSize = windowSize == 0 ? 10 : windowSize;
        minimumCalls = minimumCalls == 0 ? 3 : minimumCalls;
        openDuration = openDuration == null ? Duration.ofSeconds(10) : openDuration;
        halfOpenCalls = halfOpenCalls == 0 ? 2 : halfOpenCalls;
        maxCloudSessions = maxCloudSessions == 0 ? 8 : maxCloudSessions;
        if (failureRateThreshold <= 0 || failureRateThreshold > 100 || slowCallRateThreshold <= 0
                || slowCallRateThreshold > 100) {
            throw new IllegalArgumentException("tandem.resilience rate thresholds are percentages in (0, 100]");
        }
        if (windowSize < 1 || minimumCalls < 1 || halfOpenCalls < 1 || maxCloudSessions < 1) {
            throw new IllegalArgumentException("tandem.resilience.window-size, minimum-calls, half-open-calls"
                    + " and max-cloud-sessions >= 1");
        }
    }
}
