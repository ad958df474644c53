package io.tandem.issuer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import com.nimbusds.jwt.SignedJWT;
import io.tandem.issuer.device.DeviceCommand;
import org.junit.jupiter.api.Test;

import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.test.context.ActiveProfiles;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Devices registered with the device command get tokens of their own (subject = device id) from
 * the running issuer, without a restart; a revoked device gets none; the clients from properties
 * keep working beside them.
 */
@SpringBootTest(webEnvironment = WebEnvironment.RANDOM_PORT)
@ActiveProfiles("test")
class DeviceRegistrationTests {

    static final Path DEVICES;

    static {
        try {
            DEVICES = Files.createTempDirectory("tandem-devices").resolve("devices.txt");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @DynamicPropertySource
    static void registry(DynamicPropertyRegistry registry) {
        registry.add("tandem.issuer.devices-file", DEVICES::toString);
        registry.add("tandem.issuer.device-token-ttl", () -> "5m");
    }

    @LocalServerPort
    int port;

    @Test
    void eachDeviceGetsTokensAsItselfUntilRevoked() throws Exception {
        IssuerClient issuer = new IssuerClient(port);
        String kiosk1 = device("add", "kiosk-1");
        String kiosk2 = device("add", "kiosk-2");
        assertThat(kiosk1).isNotEqualTo(kiosk2).hasSize(43);
        assertThat(Files.readString(DEVICES)).contains("kiosk-1 {bcrypt}").doesNotContain(kiosk1);

        for (String[] device : new String[][] {{"kiosk-1", kiosk1}, {"kiosk-2", kiosk2}}) {
            ResponseEntity<String> response = issuer.token(device[0], device[1], "tandem.agent");
            assertThat(response.getStatusCode()).isEqualTo(HttpStatus.OK);
            SignedJWT jwt = SignedJWT.parse((String) IssuerClient.json(response).get("access_token"));
            assertThat(jwt.getJWTClaimsSet().getSubject()).isEqualTo(device[0]);
            assertThat(jwt.getJWTClaimsSet().getAudience()).containsExactly("tandem-cloud");
            assertThat(jwt.getJWTClaimsSet().getExpirationTime().getTime() - jwt.getJWTClaimsSet().getIssueTime().getTime())
                    .isEqualTo(5 * 60_000L);
        }
        // one device's secret is not another's
        assertThat(issuer.token("kiosk-2", kiosk1, "tandem.agent").getStatusCode()).isEqualTo(HttpStatus.UNAUTHORIZED);

        ResponseEntity<String> noneRevoked = issuer.get("/devices/revoked");
        assertThat(IssuerClient.json(noneRevoked)).containsEntry("revoked", List.of());
        device("revoke", "kiosk-1");
        // the revocation list is public, like the JWKS: the cloud reads it without credentials
        ResponseEntity<String> revokedList = issuer.get("/devices/revoked");
        assertThat(revokedList.getHeaders().getContentType().toString()).startsWith("application/json");
        assertThat(IssuerClient.json(revokedList)).containsEntry("revoked", List.of("kiosk-1"));
        ResponseEntity<String> revoked = issuer.token("kiosk-1", kiosk1, "tandem.agent");
        assertThat(revoked.getStatusCode()).isEqualTo(HttpStatus.UNAUTHORIZED);
        assertThat(IssuerClient.json(revoked)).containsEntry("error", "invalid_client");
        assertThat(issuer.token("kiosk-2", kiosk2, "tandem.agent").getStatusCode()).isEqualTo(HttpStatus.OK);
        // the client configured in application-test.yml still works beside the registry
        assertThat(issuer.token("test-edge", "test-secret", "tandem.agent").getStatusCode()).isEqualTo(HttpStatus.OK);
        assertThat(run(List.of("list", "--file", DEVICES.toString())).out())
                .contains("kiosk-1\trevoked").contains("kiosk-2\tactive");
    }

    @Test
    void theCommandRefusesWhatItCannotDo() {
        Result duplicate = run(List.of("add", "dup-1", "--file", DEVICES.toString()));
        assertThat(duplicate.status()).isZero();
        Result again = run(List.of("add", "dup-1", "--file", DEVICES.toString()));
        assertThat(again.status()).isEqualTo(1);
        assertThat(again.err()).contains("device dup-1 is already registered");
        Result badId = run(List.of("add", "Kiosk 1!", "--file", DEVICES.toString()));
        assertThat(badId.status()).isEqualTo(1);
        assertThat(badId.err()).contains("device id 'Kiosk 1!' is not valid");
        Result unknown = run(List.of("revoke", "nobody", "--file", DEVICES.toString()));
        assertThat(unknown.status()).isEqualTo(1);
        assertThat(unknown.err()).contains("no device nobody in " + DEVICES);
        assertThat(run(List.of("frobnicate", "--file", DEVICES.toString())).status()).isEqualTo(2);
    }

    @Test
    void aBrokenRegistryLineIsNamed() throws IOException {
        Path broken = DEVICES.resolveSibling("broken.txt");
        Files.writeString(broken, "# devices\nkiosk-9 {bcrypt}abc active\n");
        Result list = run(List.of("list", "--file", broken.toString()));
        assertThat(list.status()).isEqualTo(1);
        assertThat(list.err()).contains(broken + " line 2: expected '<device id> <secret hash> active|revoked");
    }

    private String device(String action, String id) {
        Result result = run(List.of(action, id, "--file", DEVICES.toString()));
        assertThat(result.status()).as(result.err()).isZero();
        return result.out().strip();
    }

    record Result(int status, String out, String err) {
    }

    static Result run(List<String> args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = DeviceCommand.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

}
