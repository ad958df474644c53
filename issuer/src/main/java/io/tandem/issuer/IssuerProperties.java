package io.tandem.issuer;

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
 */
@ConfigurationProperties("tandem.issuer")
public record IssuerProperties(@DefaultValue("tandem-cloud") String audience, @Nullable Resource privateKeyLocation) {
    public IssuerProperties {
        if (audience == null || audience.isBlank()) {
            throw new IllegalArgumentException("tandem.issuer.audience must not be blank");
        }
    }
}
