package io.tandem.issuer;

import java.nio.file.Path;
import java.time.Duration;

import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.core.io.Resource;

/**
 * What the issuer adds to Spring Authorization Server's own settings.
 *
 * @param audience the {@code aud} of every access token; it replaces the default audience
 * (the client id), because the tokens are meant for the cloud service alone and it checks
 * for this value
 * @param privateKeyLocation an RSA private key in PEM (PKCS#8 {@code BEGIN PRIVATE KEY} or
 * PKCS#1 {@code BEGIN RSA PRIVATE KEY}, unencrypted) that signs the tokens, e.g.
 * {@code file:/etc/tandem/issuer-key.pem}; when unset a key is generated at startup, so
 * tokens issued before a restart no longer verify after it
 * @param devicesFile the device registry (one device per line, written by {@code bin/tandem device}):
 * every active device there is a client of its own; unset, only clients configured in properties
 * @param deviceScope the scope a device's token carries, what the cloud requires
 * @param deviceTokenTtl how long a device's access token lives
 */
@ConfigurationProperties("tandem.issuer")
public record IssuerProperties(@DefaultValue("tandem-cloud") String audience, @Nullable Resource privateKeyLocation,
                               @Nullable Path devicesFile, @DefaultValue("tandem.agent") String deviceScope,
                               @DefaultValue("10m") Duration deviceTokenTtl) {
    public IssuerProperties {
        if (audience == null || audience.isBlank()) {
            throw new IllegalArgumentException("tandem.issuer.audience must not be blank");
        }
        if (deviceTokenTtl.isNegative() || deviceTokenTtl.isZero()) {
            throw new IllegalArgumentException("tandem.issuer.device-token-ttl must be positive");
        }
    }
}
