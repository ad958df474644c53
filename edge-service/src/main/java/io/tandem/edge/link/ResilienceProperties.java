package io.tandem.edge.link;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The circuit breaker and bulkhead around the cloud link ({@code tandem.resilience}). A call is
 * one exchange with the cloud: opening a session, or waiting for one token. The time limits for
 * the first token and between tokens are {@code tandem.link.first-token-timeout} and
 * {@code token-timeout}.
 *
 * @param failureRateThreshold    percent of failed calls in the window that opens the breaker
 * @param slowCallRateThreshold   percent of slow calls in the window that opens the breaker
 * @param slowCallDuration        a call slower than this is slow
 * @param window                  the sliding window the rates are computed over
 * @param minimumCalls            calls the window needs before the rates count
 * @param openDuration            how long the breaker stays open before it lets trial calls through
 * @param halfOpenCalls           trial calls that decide between closing and opening again
 * @param maxCloudSessions        cloud sessions this edge runs at once (the bulkhead)
 */
@ConfigurationProperties("tandem.resilience")
public record ResilienceProperties(float failureRateThreshold, float slowCallRateThreshold, Duration slowCallDuration,
                                   Duration window, int minimumCalls, Duration openDuration, int halfOpenCalls,
                                   int maxCloudSessions) {

    public ResilienceProperties {
        failureRateThreshold = failureRateThreshold == 0 ? 50 : failureRateThreshold;
        slowCallRateThreshold = slowCallRateThreshold == 0 ? 80 : slowCallRateThreshold;
        slowCallDuration = slowCallDuration == null ? Duration.ofSeconds(2) : slowCallDuration;
        window = window == null ? Duration.ofSeconds(30) : window;
        minimumCalls = minimumCalls == 0 ? 3 : minimumCalls;
        openDuration = openDuration == null ? Duration.ofSeconds(10) : openDuration;
        halfOpenCalls = halfOpenCalls == 0 ? 2 : halfOpenCalls;
        maxCloudSessions = maxCloudSessions == 0 ? 8 : maxCloudSessions;
        if (failureRateThreshold <= 0 || failureRateThreshold > 100 || slowCallRateThreshold <= 0
                || slowCallRateThreshold > 100) {
            throw new IllegalArgumentException("tandem.resilience rate thresholds are percentages in (0, 100]");
        }
        if (window.toSeconds() < 1 || minimumCalls < 1 || halfOpenCalls < 1 || maxCloudSessions < 1) {
            throw new IllegalArgumentException("tandem.resilience.window must be >= 1s and minimum-calls, half-open-calls"
                    + " and max-cloud-sessions >= 1");
        }
    }
}
