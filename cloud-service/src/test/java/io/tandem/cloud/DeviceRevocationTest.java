package io.tandem.cloud;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.micrometer.core.instrument.MeterRegistry;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.tandem.cloud.security.RevokedDevices;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

/**
 * A device revoked at the issuer loses the cloud within one poll of the revocation list, not when
 * its token expires: its open connections close with 1008 naming the revocation, its still-valid
 * token is refused at the next handshake (401), other devices go on. A list that cannot be read
 * keeps the devices revoked before and is counted.
 */
@CloudTest
class DeviceRevocationTest extends CloudTestBase {

    /** The issuer's /devices/revoked, as the issuer module serves it (see its RevokedDevicesController). */
    static final AtomicReference<String> LIST = new AtomicReference<>("{\"revoked\":[]}");
    static final AtomicInteger STATUS = new AtomicInteger(200);
    static final DisposableServer ISSUER = HttpServer.create().host("127.0.0.1").port(0)
            .route(routes -> routes.get("/devices/revoked", (request, response) -> response.status(STATUS.get())
                    .header("Content-Type", "application/json").sendString(Mono.fromSupplier(LIST::get))))
            .bindNow();

    @DynamicPropertySource
    static void revocationList(DynamicPropertyRegistry registry) {
        registry.add("tandem.cloud.security.revocation-list-uri",
                () -> "http://127.0.0.1:" + ISSUER.port() + "/devices/revoked");
        registry.add("tandem.cloud.security.revocation-poll-interval", () -> "200ms");
    }

    @AfterAll
    static void stopIssuer() {
        ISSUER.disposeNow();
    }

    @Autowired
    RevokedDevices revoked;
    @Autowired
    MeterRegistry registry;

    @Test
    void aRevokedDeviceIsDisconnectedAndRefusedWhileOthersGoOn() {
        try (AgentTestClient stolen = connect("stolen-kiosk"); AgentTestClient honest = connect("honest-kiosk")) {
            LIST.set("{\"revoked\":[\"stolen-kiosk\",\"retired-kiosk\"]}");
            WebSocketCloseStatus status = stolen.awaitClose(Duration.ofSeconds(10));
            assertThat(status.code()).isEqualTo(1008);
            assertThat(status.reasonText()).isEqualTo("device stolen-kiosk was revoked");
            AgentTestClient.Refused refused = assertThrows(AgentTestClient.Refused.class,
                    () -> connect("stolen-kiosk").close());
            assertThat(refused.status).isEqualTo(401);
            assertThat(refused.headers.get("WWW-Authenticate")).contains("device stolen-kiosk was revoked");
            // the honest kiosk's connection stayed, and it can open more
            assertThat(honest.isClosed()).isFalse();
            connect("honest-kiosk").close();

            // an unreadable list keeps what was revoked
            double failuresBefore = failures();
            STATUS.set(503);
            awaitTrue(() -> failures() > failuresBefore, "a failed read counted");
            assertThat(revoked.isRevoked("stolen-kiosk")).isTrue();
            assertThrows(AgentTestClient.Refused.class, () -> connect("stolen-kiosk").close());
            LIST.set("{\"broken\":");
            STATUS.set(200);
            double failuresAfterBroken = failures();
            awaitTrue(() -> failures() > failuresAfterBroken, "a malformed list counted as a failure");
            assertThat(revoked.isRevoked("stolen-kiosk")).isTrue();

            // re-registered (no longer on the list): it connects again
            LIST.set("{\"revoked\":[\"retired-kiosk\"]}");
            awaitTrue(() -> !revoked.isRevoked("stolen-kiosk"), "the list read again");
            connect("stolen-kiosk").close();
        } finally {
            LIST.set("{\"revoked\":[]}");
            STATUS.set(200);
        }
    }

    private double failures() {
        io.micrometer.core.instrument.Counter c = registry.find("tandem.cloud.revocation.list.failures").counter();
        return c == null ? 0 : c.count();
    }

    private static void awaitTrue(java.util.function.BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 10 s: " + what);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }
}
