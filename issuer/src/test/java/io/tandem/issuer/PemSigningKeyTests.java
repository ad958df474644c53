package io.tandem.issuer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.interfaces.RSAPublicKey;
import java.util.Base64;

import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.SignedJWT;
import org.junit.jupiter.api.Test;

import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

/** With a configured PEM key the issuer signs with it and publishes it, and the audience is configurable. */
@SpringBootTest(webEnvironment = WebEnvironment.RANDOM_PORT)
@ActiveProfiles("test")
class PemSigningKeyTests {
    private static final KeyPair KEY_PAIR = generate();

    @DynamicPropertySource
    static void signingKey(DynamicPropertyRegistry registry) throws IOException {
        Path pem = Files.createTempFile("issuer-key", ".pem");
        pem.toFile().deleteOnExit();
        Files.writeString(pem, pkcs8Pem(KEY_PAIR));
        registry.add("tandem.issuer.private-key-location", () -> pem.toUri().toString());
        registry.add("tandem.issuer.audience", () -> "other-cloud");
    }

    @LocalServerPort
    int port;

    @Test
    void jwksPublishesTheConfiguredKeyAndTokensAreSignedWithIt() throws Exception {
        IssuerClient issuer = new IssuerClient(this.port);
        JWKSet jwks = JWKSet.parse(issuer.get("/oauth2/jwks").getBody());
        assertThat(jwks.getKeys()).hasSize(1);
        RSAKey published = (RSAKey) jwks.getKeys().get(0);
        RSAPublicKey expected = (RSAPublicKey) KEY_PAIR.getPublic();
        assertThat(published.toRSAPublicKey().getModulus()).isEqualTo(expected.getModulus());
        assertThat(published.toRSAPublicKey().getPublicExponent()).isEqualTo(expected.getPublicExponent());
        assertThat(published.getKeyID()).isEqualTo(new RSAKey.Builder(expected).build().computeThumbprint().toString());

        String token = (String) IssuerClient.json(issuer.token("test-edge", "test-secret", "tandem.agent"))
            .get("access_token");
        SignedJWT jwt = SignedJWT.parse(token);
        assertThat(jwt.verify(new RSASSAVerifier(expected))).isTrue();
        assertThat(jwt.getHeader().getKeyID()).isEqualTo(published.getKeyID());
        assertThat(jwt.getJWTClaimsSet().getAudience()).containsExactly("other-cloud");
    }

    static KeyPair generate() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("RSA");
            generator.initialize(2048);
            return generator.generateKeyPair();
        }
        catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException(ex);
        }
    }

    static String pkcs8Pem(KeyPair pair) {
        return pem("PRIVATE KEY", pair.getPrivate().getEncoded());
    }

    static String pem(String type, byte[] der) {
        Base64.Encoder base64 = Base64.getMimeEncoder(64, new byte[] { '\n' });
        return "-----BEGIN " + type + "-----\n" + base64.encodeToString(der) + "\n-----END " + type + "-----\n";
    }
}
