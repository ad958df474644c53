package io.tandem.issuer;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.util.Arrays;

import com.nimbusds.jose.jwk.RSAKey;
import org.junit.jupiter.api.Test;

import org.springframework.core.io.ByteArrayResource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

/** Loading the signing key from PEM, without a server. */
class SigningKeyConfigurationTests {
    @Test
    void pkcs8AndPkcs1PemGiveTheSameKeyAndKid() throws Exception {
        KeyPair pair = PemSigningKeyTests.generate();
        byte[] pkcs8 = pair.getPrivate().getEncoded();
        // A PKCS#8 PrivateKeyInfo ends with the PKCS#1 RSAPrivateKey as an OCTET STRING; for a
        // 2048-bit key the wrapper before it is 26 bytes (version, algorithm, octet-string header).
        byte[] pkcs1 = Arrays.copyOfRange(pkcs8, 26, pkcs8.length);

        RSAKey fromPkcs8 = SigningKeyConfiguration.load(pem(PemSigningKeyTests.pkcs8Pem(pair)));
        RSAKey fromPkcs1 = SigningKeyConfiguration.load(pem(PemSigningKeyTests.pem("RSA PRIVATE KEY", pkcs1)));

        assertThat(fromPkcs8.toPublicJWK()).isEqualTo(fromPkcs1.toPublicJWK());
        assertThat(fromPkcs8.toRSAPublicKey()).isEqualTo(pair.getPublic());
        assertThat(fromPkcs8.getKeyID()).isEqualTo(fromPkcs8.computeThumbprint().toString());
    }

    @Test
    void generatedKeysAre2048BitWithAThumbprintKid() throws Exception {
        RSAKey key = SigningKeyConfiguration.generate();
        assertThat(key.size()).isEqualTo(2048);
        assertThat(key.getKeyID()).isEqualTo(key.computeThumbprint().toString());
    }

    @Test
    void aFileWithoutAnRsaPrivateKeyIsRefusedWithItsLocation() {
        assertThatIllegalStateException().isThrownBy(() -> SigningKeyConfiguration.load(pem("not a key")))
            .withMessageContaining("holds no unencrypted RSA private key");
    }

    private static ByteArrayResource pem(String text) {
        return new ByteArrayResource(text.getBytes(StandardCharsets.US_ASCII), "test PEM");
    }
}
