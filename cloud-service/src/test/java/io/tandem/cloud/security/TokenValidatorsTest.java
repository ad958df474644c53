package io.tandem.cloud.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;
import org.springframework.security.oauth2.jwt.Jwt;

class TokenValidatorsTest {

    static final Instant NOW = Instant.parse("2026-12-03T10:00:00Z");
    static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);

    private static Jwt jwt(Instant issuedAt, Instant expiresAt, String jti) {
        Jwt.Builder b = Jwt.withTokenValue("t").header("alg", "RS256").subject("kiosk-1");
        if (issuedAt != null) {
            b.issuedAt(issuedAt);
        }
        if (expiresAt != null) {
            b.expiresAt(expiresAt);
        }
        if (jti != null) {
            b.jti(jti);
        }
        return b.build();
    }

    @Test
    void aTokenMustExpireWithinTheMaximumLifetime() {
        TokenLifetimeValidator v = new TokenLifetimeValidator(Duration.ofHours(1), CLOCK);
        assertThat(v.validate(jwt(NOW, null, null)).getErrors()).singleElement()
                .satisfies(e -> assertThat(e.getDescription()).contains("no exp claim"));
        assertThat(v.validate(jwt(NOW, NOW.plus(Duration.ofHours(1)), null)).hasErrors()).isFalse();
        assertThat(v.validate(jwt(NOW, NOW.plus(Duration.ofHours(1)).plusSeconds(1), null)).getErrors()).singleElement()
                .satisfies(e -> assertThat(e.getDescription()).contains("valid for 3601 s, longer than the 3600 s"));
        // without iat the lifetime counts from now
        assertThat(v.validate(jwt(null, NOW.plus(Duration.ofMinutes(59)), null)).hasErrors()).isFalse();
        assertThat(v.validate(jwt(null, NOW.plus(Duration.ofHours(2)), null)).hasErrors()).isTrue();
    }

    @Test
    void aJtiOpensOneConnectionAndIsForgottenWhenItsTokenExpires() {
        JtiReplayValidator v = new JtiReplayValidator(CLOCK);
        Instant exp = NOW.plusSeconds(60);
        assertThat(v.validate(jwt(NOW, exp, "a")).hasErrors()).isFalse();
        assertThat(v.validate(jwt(NOW, exp, "a")).getErrors()).singleElement()
                .satisfies(e -> assertThat(e.getDescription()).contains("token a was used before"));
        assertThat(v.validate(jwt(NOW, exp, "b")).hasErrors()).isFalse();
        assertThat(v.validate(jwt(NOW, exp, null)).getErrors()).singleElement()
                .satisfies(e -> assertThat(e.getDescription()).contains("no jti"));
        JtiReplayValidator later = new JtiReplayValidator(Clock.fixed(NOW.plusSeconds(61), ZoneOffset.UTC));
        assertThat(later.validate(jwt(NOW, exp, "old")).hasErrors()).isFalse();
        assertThat(later.validate(jwt(NOW, NOW.plusSeconds(120), "new")).hasErrors()).isFalse();
        assertThat(later.remembered()).as("expired ids are purged").isEqualTo(1);
    }
}
