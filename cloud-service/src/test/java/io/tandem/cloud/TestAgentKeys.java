package io.tandem.cloud;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import org.springframework.security.oauth2.jose.jws.SignatureAlgorithm;
import org.springframework.security.oauth2.jwt.JwsHeader;
import org.springframework.security.oauth2.jwt.JwtClaimsSet;
import org.springframework.security.oauth2.jwt.JwtEncoderParameters;
import org.springframework.security.oauth2.jwt.NimbusJwtEncoder;

/**
 * Test signing keys, made fresh per JVM: the cloud trusts {@link #TRUSTED}'s public key through a
 * PEM file, and tokens are minted as an issuer would mint them. {@link #STRANGER} signs tokens the
 * cloud must refuse.
 */
public final class TestAgentKeys {

    public static final String ISSUER = "http://issuer.test";
    public static final String AUDIENCE = "tandem-cloud";
    public static final String SCOPE = "tandem.agent";

    public static final TestAgentKeys TRUSTED = new TestAgentKeys();
    public static final TestAgentKeys STRANGER = new TestAgentKeys();

    private final KeyPair pair;
    private final NimbusJwtEncoder encoder;
    private Path pemFile;

    private TestAgentKeys() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(2048);
            pair = generator.generateKeyPair();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        RSAKey jwk = new RSAKey.Builder((RSAPublicKey) pair.getPublic()).privateKey((RSAPrivateKey) pair.getPrivate())
                .keyID("test-" + System.identityHashCode(this)).build();
        encoder = new NimbusJwtEncoder(new ImmutableJWKSet<>(new JWKSet(jwk)));
    }

    /** The public key as an X.509 PEM file, for tandem.cloud.security.public-key. */
    public synchronized Path publicKeyPem() {
        if (pemFile == null) {
            try {
                pemFile = Files.createTempFile("tandem-agent-key", ".pem");
                pemFile.toFile().deleteOnExit();
                String base64 = Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(pair.getPublic().getEncoded());
                Files.writeString(pemFile, "-----BEGIN PUBLIC KEY-----\n" + base64 + "\n-----END PUBLIC KEY-----\n");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return pemFile;
    }

    /** A token as the issuer would give agent {@code subject}: right issuer, audience and scope, valid for {@code ttl}. */
    public String token(String subject, Duration ttl) {
        return token(subject, ISSUER, List.of(AUDIENCE), SCOPE, Instant.now(), Instant.now().plus(ttl));
    }

    public String token(String subject, String issuer, List<String> audience, String scope, Instant issuedAt,
                        Instant expiresAt) {
        JwtClaimsSet.Builder claims = JwtClaimsSet.builder()
                .issuer(issuer)
                .subject(subject)
                .audience(audience)
                .claim("scope", scope)
                .issuedAt(issuedAt)
                .notBefore(issuedAt);
        if (expiresAt != null) {
            claims.expiresAt(expiresAt);
        }
        return sign(claims.build());
    }

    /** A token that never expires: no exp claim at all. */
    public String tokenWithoutExpiry(String subject) {
        return token(subject, ISSUER, List.of(AUDIENCE), SCOPE, Instant.now(), null);
    }

    private String sign(JwtClaimsSet claims) {
        JwsHeader header = JwsHeader.with(SignatureAlgorithm.RS256).build();
        return encoder.encode(JwtEncoderParameters.from(header, claims)).getTokenValue();
    }
}
