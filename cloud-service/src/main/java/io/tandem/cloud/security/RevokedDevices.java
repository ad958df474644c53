package io.tandem.cloud.security;

import java.util.Collection;
import java.util.HashSet;
import java.util.Set;
import org.springframework.security.oauth2.core.OAuth2Error;
import org.springframework.security.oauth2.core.OAuth2ErrorCodes;
import org.springframework.security.oauth2.core.OAuth2TokenValidator;
import org.springframework.security.oauth2.core.OAuth2TokenValidatorResult;
import org.springframework.security.oauth2.jwt.Jwt;

/**
 * The devices the issuer has revoked, as last read from its revocation list: their tokens are
 * refused at the handshake though still signed and unexpired. Empty until the first read, and
 * kept as it was while the list cannot be read (a revoked device stays revoked).
 */
public final class RevokedDevices implements OAuth2TokenValidator<Jwt> {

    private volatile Set<String> revoked = Set.of();

    public boolean isRevoked(String device) {
        return revoked.contains(device);
    }

    public Set<String> all() {
        return revoked;
    }

    /** Takes the issuer's new list; returns the devices revoked since the last one. */
    public synchronized Set<String> replace(Collection<String> now) {
        Set<String> fresh = new HashSet<>(now);
        fresh.removeAll(revoked);
        revoked = Set.copyOf(now);
        return Set.copyOf(fresh);
    }

    @Override
    public OAuth2TokenValidatorResult validate(Jwt token) {
        String device = token.getSubject();
        if (device != null && isRevoked(device)) {
            return OAuth2TokenValidatorResult.failure(new OAuth2Error(OAuth2ErrorCodes.INVALID_TOKEN,
                    "device " + device + " was revoked", null));
        }
        return OAuth2TokenValidatorResult.success();
    }
}
