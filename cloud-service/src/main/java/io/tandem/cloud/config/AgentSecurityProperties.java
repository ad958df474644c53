package io.tandem.cloud.config;

import java.net.URI;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.core.io.Resource;

/**
 * How agents prove who they are: a JWT from {@code issuer} for {@code audience} carrying
 * {@code scope}, signed by a key from the issuer's JWKS ({@code jwkSetUri}) or by the RSA public
 * key in {@code publicKey} (PEM), with {@code clockSkew} of tolerance on expiry. Every token must
 * expire ({@code exp}), at most {@code maxTokenLifetime} after it was issued; with
 * {@code jtiReplayProtection} each token also needs a {@code jti} and opens one connection only.
 * With {@code revocationListUri} (the issuer's {@code /devices/revoked}) the cloud reads the revoked
 * devices every {@code revocationPollInterval}, refuses their tokens and closes their connections,
 * so a revocation takes effect within one interval rather than when the device's token expires.
 */
@ConfigurationProperties("tandem.cloud.security")
public record AgentSecurityProperties(String issuer, String audience, String scope, URI jwkSetUri, Resource publicKey,
                                      Duration clockSkew, Duration maxTokenLifetime, boolean jtiReplayProtection,
                                      URI revocationListUri, Duration revocationPollInterval) {
    public AgentSecurityProperties {
        if (issuer == null || issuer.isBlank()) {
            throw new IllegalArgumentException("tandem.cloud.security.issuer is required: the iss agents' tokens must carry");
        }
        audience = audience == null ? "tandem-cloud" : audience;
        scope = scope == null ? "tandem.agent" : scope;
        if ((jwkSetUri == null) == (publicKey == null)) {
            throw new IllegalArgumentException("set exactly one of tandem.cloud.security.jwk-set-uri (an issuer's JWKS)"
                    + " and tandem.cloud.security.public-key (a PEM file)");
        }
        clockSkew = clockSkew == null ? Duration.ofSeconds(30) : clockSkew;
        maxTokenLifetime = maxTokenLifetime == null ? Duration.ofHours(1) : maxTokenLifetime;
        if (maxTokenLifetime.isNegative() || maxTokenLifetime.isZero()) {
            throw new IllegalArgumentException("tandem.cloud.security.max-token-lifetime must be positive");
        }
        revocationPollInterval = revocationPollInterval == null ? Duration.ofSeconds(30) : revocationPollInterval;
        if (revocationPollInterval.compareTo(Duration.ofMillis(100)) < 0) {
            throw new IllegalArgumentException("tandem.cloud.security.revocation-poll-interval must be at least 100ms, was "
                    + revocationPollInterval);
        }
    }
}
