package io.tandem.issuer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.RSAPublicKeySpec;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.SecurityContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.boot.ssl.pem.PemContent;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.io.Resource;

/**
 * The RSA key that signs access tokens, published on the JWKS endpoint.
 *
 * <p>Replaces Boot's default {@code JWKSource}, which always generates a key with a random
 * {@code kid}. The {@code kid} here is the key's RFC 7638 thumbprint, so a persistent key
 * keeps the same {@code kid} across restarts and verifiers' JWKS caches stay valid.
 */
@Configuration(proxyBeanMethods = false)
class SigningKeyConfiguration {
    private static final Logger log = LoggerFactory.getLogger(SigningKeyConfiguration.class);

    @Bean
    JWKSource<SecurityContext> jwkSource(IssuerProperties properties) {
        Resource location = properties.privateKeyLocation();
        RSAKey key = (location != null) ? load(location) : generate();
        return new ImmutableJWKSet<>(new JWKSet(key));
    }

    static RSAKey load(Resource location) {
        String pem;
        try {
            pem = location.getContentAsString(StandardCharsets.US_ASCII);
        }
        catch (IOException ex) {
            throw new UncheckedIOException("Cannot read tandem.issuer.private-key-location " + location, ex);
        }
        String problem = "tandem.issuer.private-key-location " + location + " holds no unencrypted RSA private key";
        PrivateKey privateKey;
        try {
            PemContent content = PemContent.of(pem);
            privateKey = (content != null) ? content.getPrivateKey() : null;
        }
        catch (IllegalStateException ex) {
            // Boot's parser names neither the file nor the setting
            throw new IllegalStateException(problem, ex);
        }
        if (!(privateKey instanceof RSAPrivateCrtKey rsa)) {
            throw new IllegalStateException(problem);
        }
        RSAKey key = rsaKey(publicKeyOf(rsa), rsa);
        log.info("Signing tokens with the RSA key from {} (kid {})", location, key.getKeyID());
        return key;
    }

    static RSAKey generate() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(2048);
            var pair = generator.generateKeyPair();
            RSAKey key = rsaKey((RSAPublicKey) pair.getPublic(), pair.getPrivate());
            log.warn("No tandem.issuer.private-key-location set: signing with a key generated at startup (kid {});"
                    + " tokens issued now will not verify after a restart", key.getKeyID());
            return key;
        }
        catch (GeneralSecurityException ex) {
            throw new IllegalStateException("Cannot generate an RSA key", ex);
        }
    }

    private static RSAKey rsaKey(RSAPublicKey publicKey, PrivateKey privateKey) {
        try {
            // use and alg published so verifiers need not guess; RS256 is what the encoder picks for RSA
            return new RSAKey.Builder(publicKey).privateKey(privateKey)
                .keyUse(KeyUse.SIGNATURE)
                .algorithm(JWSAlgorithm.RS256)
                .keyIDFromThumbprint()
                .build();
        }
        catch (JOSEException ex) {
            throw new IllegalStateException("Cannot compute the key thumbprint", ex);
        }
    }

    // A PEM file holds only the private key; its CRT form carries the modulus and public exponent.
    private static RSAPublicKey publicKeyOf(RSAPrivateCrtKey privateKey) {
        try {
            var spec = new RSAPublicKeySpec(privateKey.getModulus(), privateKey.getPublicExponent());
            return (RSAPublicKey) KeyFactory.getInstance("RSA").generatePublic(spec);
        }
        catch (GeneralSecurityException ex) {
            throw new IllegalStateException("Cannot derive the RSA public key", ex);
        }
    }
}
