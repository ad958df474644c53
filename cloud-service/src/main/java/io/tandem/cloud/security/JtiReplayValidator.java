package io.tandem.cloud.security;

import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.security.oauth2.core.OAuth2TokenValidator;
import org.springframework.security.oauth2.core.OAuth2TokenValidatorResult;
import org.springframework.security.oauth2.jwt.Jwt;

/**
 * Replay protection for the handshake: a token needs a {@code jti}, and a {@code jti} opens one
 * connection only. Seen ids are kept until their token expires (expiry is bounded by
 * {@link TokenLifetimeValidator}, which runs first), so memory stays bounded by the handshake
 * rate times the token lifetime. Agents must then fetch a fresh token for each connection.
 */
final class JtiReplayValidator implements OAuth2TokenValidator<Jwt> {

    private final ConcurrentHashMap<String, Instant> seen = new ConcurrentHashMap<>();
    private final Clock clock;

    JtiReplayValidator(Clock clock) {
        this.clock = clock;
    }

    @Override
    public OAuth2TokenValidatorResult validate(Jwt token) {
        String jti = token.getId();
        if (jti == null || jti.isBlank()) {
            return TokenLifetimeValidator.invalid("the token has no jti claim; this cloud refuses replays and needs one");
        }
        Instant now = clock.instant();
        seen.values().removeIf(expires -> expires.isBefore(now));
        Instant expires = token.getExpiresAt() == null ? Instant.MAX : token.getExpiresAt();
        if (seen.putIfAbsent(jti, expires) != null) {
            return TokenLifetimeValidator.invalid("the token " + jti + " was used before: each connection needs a fresh token");
        }
        return OAuth2TokenValidatorResult.success();
    }

    int remembered() {
        return seen.size();
    }
}
