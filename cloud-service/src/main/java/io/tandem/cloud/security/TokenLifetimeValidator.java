package io.tandem.cloud.security;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.springframework.security.oauth2.core.OAuth2Error;
import org.springframework.security.oauth2.core.OAuth2ErrorCodes;
import org.springframework.security.oauth2.core.OAuth2TokenValidator;
import org.springframework.security.oauth2.core.OAuth2TokenValidatorResult;
import org.springframework.security.oauth2.jwt.Jwt;

/**
 * Every agent token must expire, and not too late: {@code exp} is required (Spring's timestamp
 * validator lets a token without one through, and it would never expire), and {@code exp} may lie
 * at most {@code maxLifetime} after {@code iat} (or after now, for a token without {@code iat}).
 */
final class TokenLifetimeValidator implements OAuth2TokenValidator<Jwt> {

    private final Duration maxLifetime;
    private final Clock clock;

    TokenLifetimeValidator(Duration maxLifetime, Clock clock) {
        this.maxLifetime = maxLifetime;
        this.clock = clock;
    }

    @Override
    public OAuth2TokenValidatorResult validate(Jwt token) {
        Instant expires = token.getExpiresAt();
        if (expires == null) {
            return invalid("the token has no exp claim: agent tokens must expire");
        }
        Instant from = token.getIssuedAt() != null ? token.getIssuedAt() : clock.instant();
        Duration lifetime = Duration.between(from, expires);
        if (lifetime.compareTo(maxLifetime) > 0) {
            return invalid("the token is valid for " + lifetime.toSeconds() + " s, longer than the "
                    + maxLifetime.toSeconds() + " s this cloud accepts");
        }
        return OAuth2TokenValidatorResult.success();
    }

    static OAuth2TokenValidatorResult invalid(String description) {
        return OAuth2TokenValidatorResult.failure(new OAuth2Error(OAuth2ErrorCodes.INVALID_TOKEN, description, null));
    }
}
