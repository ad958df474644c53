package io.tandem.issuer;

import java.time.Duration;
import java.util.Map;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.security.oauth2.server.authorization.client.RegisteredClient;
import org.springframework.security.oauth2.server.authorization.client.RegisteredClientRepository;
import org.springframework.test.context.ActiveProfiles;

import static org.assertj.core.api.Assertions.assertThat;

/** The issuer over real HTTP, configured by src/test/resources/application-test.yml. */
@SpringBootTest(webEnvironment = WebEnvironment.RANDOM_PORT)
@ActiveProfiles("test")
class IssuerApplicationTests {
    private static final String CLIENT_ID = "test-edge";

    private static final String SECRET = "test-secret";

    @LocalServerPort
    int port;

    @Autowired
    RegisteredClientRepository clients;

    IssuerClient issuer;

    @BeforeEach
    void client() {
        this.issuer = new IssuerClient(this.port);
    }

    @Test
    void clientCredentialsGiveAnRs256TokenThatVerifiesAgainstTheJwks() throws Exception {
        ResponseEntity<String> response = this.issuer.token(CLIENT_ID, SECRET, "tandem.agent");
        assertThat(response.getStatusCode()).isEqualTo(HttpStatus.OK);
        Map<String, Object> body = IssuerClient.json(response);
        assertThat(body.get("token_type")).isEqualTo("Bearer");

        SignedJWT jwt = SignedJWT.parse((String) body.get("access_token"));
        assertThat(jwt.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.RS256);
        JWKSet jwks = JWKSet.parse(this.issuer.get("/oauth2/jwks").getBody());
        RSAKey key = (RSAKey) jwks.getKeyByKeyId(jwt.getHeader().getKeyID());
        assertThat(key).as("JWKS key for kid %s", jwt.getHeader().getKeyID()).isNotNull();
        assertThat(key.isPrivate()).as("JWKS must not leak the private key").isFalse();
        assertThat(jwt.verify(new RSASSAVerifier(key))).isTrue();

        JWTClaimsSet claims = jwt.getJWTClaimsSet();
        // no issuer is configured in the tests, so it follows the URL the client used
        assertThat(claims.getIssuer()).isEqualTo("http://localhost:" + this.port);
        assertThat(claims.getAudience()).containsExactly("tandem-cloud");
        assertThat(claims.getSubject()).isEqualTo(CLIENT_ID);
        assertThat(claims.getStringListClaim("scope")).contains("tandem.agent");
        Duration ttl = Duration.between(claims.getIssueTime().toInstant(), claims.getExpirationTime().toInstant());
        RegisteredClient registered = this.clients.findByClientId(CLIENT_ID);
        assertThat(ttl).isEqualTo(registered.getTokenSettings().getAccessTokenTimeToLive());
        assertThat(ttl).isEqualTo(Duration.ofMinutes(7)); // what application-test.yml says, not a default
        // expires_in is counted from when the response is written, so it may be a second short
        assertThat(((Number) body.get("expires_in")).longValue()).isBetween(ttl.toSeconds() - 5, ttl.toSeconds());
    }

    @Test
    void wrongSecretIsRejectedWith401() {
        ResponseEntity<String> response = this.issuer.token(CLIENT_ID, "not-the-secret", "tandem.agent");
        assertThat(response.getStatusCode()).isEqualTo(HttpStatus.UNAUTHORIZED);
        assertThat(IssuerClient.json(response)).containsEntry("error", "invalid_client");
    }

    @Test
    void missingClientAuthenticationIs401EvenForABrowser() {
        for (MediaType accept : new MediaType[] { MediaType.APPLICATION_JSON, MediaType.TEXT_HTML }) {
            ResponseEntity<String> response = this.issuer.tokenWithoutClientAuth(accept);
            assertThat(response.getStatusCode()).as("Accept %s", accept).isEqualTo(HttpStatus.UNAUTHORIZED);
            assertThat(response.getHeaders().getFirst(HttpHeaders.WWW_AUTHENTICATE)).startsWith("Basic");
            assertThat(IssuerClient.json(response)).containsEntry("error", "invalid_client");
        }
    }

    @Test
    void unknownScopeIsInvalidScope() {
        ResponseEntity<String> response = this.issuer.token(CLIENT_ID, SECRET, "tandem.admin");
        assertThat(response.getStatusCode()).isEqualTo(HttpStatus.BAD_REQUEST);
        assertThat(IssuerClient.json(response)).containsEntry("error", "invalid_scope");
    }

    @Test
    void metadataAdvertisesTheTokenAndJwksEndpoints() throws Exception {
        ResponseEntity<String> response = this.issuer.get("/.well-known/oauth-authorization-server");
        assertThat(response.getStatusCode()).isEqualTo(HttpStatus.OK);
        Map<String, Object> metadata = IssuerClient.json(response);
        String base = "http://localhost:" + this.port;
        assertThat(metadata).containsEntry("issuer", base)
            .containsEntry("token_endpoint", base + "/oauth2/token")
            .containsEntry("jwks_uri", base + "/oauth2/jwks");
        assertThat(metadata.get("grant_types_supported")).asInstanceOf(InstanceOfAssertFactories.LIST)
            .containsExactly("client_credentials");
        // endpoints this issuer does not serve are not advertised (but for authorization_endpoint,
        // which Spring's metadata builder insists on)
        assertThat(metadata).doesNotContainKeys("introspection_endpoint", "revocation_endpoint");

        // the advertised JWKS holds one signing key whose kid is its own thumbprint, so it stays stable
        JWKSet jwks = JWKSet.parse(this.issuer.get((String) metadata.get("jwks_uri")).getBody());
        assertThat(jwks.getKeys()).hasSize(1);
        assertThat(jwks.getKeys().get(0).getKeyID())
            .isEqualTo(jwks.getKeys().get(0).computeThumbprint().toString());
    }

    @Test
    void nothingButHealthAndMetricsBesidesTheTokenJwksAndMetadataEndpoints() {
        assertThat(this.issuer.get("/actuator/health").getStatusCode()).isEqualTo(HttpStatus.OK);
        // the readiness probe (container health checks) and the Prometheus scrape
        assertThat(this.issuer.get("/actuator/health/readiness").getBody()).contains("\"status\":\"UP\"");
        assertThat(this.issuer.get("/actuator/prometheus").getBody()).contains("jvm_memory_used_bytes");
        // no login page, no other actuator endpoint, no OIDC discovery (clients fall back on
        // 404), and none of the authorization server's endpoints a client_credentials issuer
        // does not need
        for (String path : new String[] { "/login", "/actuator/env", "/.well-known/openid-configuration",
                "/oauth2/authorize?response_type=code&client_id=" + CLIENT_ID }) {
            assertThat(this.issuer.get(path).getStatusCode()).as(path).isEqualTo(HttpStatus.NOT_FOUND);
        }
        for (String path : new String[] { "/oauth2/introspect", "/oauth2/revoke" }) {
            assertThat(this.issuer.postForm(path, CLIENT_ID, SECRET, "token=x").getStatusCode()).as(path)
                .isEqualTo(HttpStatus.NOT_FOUND);
        }
    }
}
