package io.tandem.issuer;

import java.util.List;

import org.springframework.security.oauth2.server.authorization.OAuth2TokenType;
import org.springframework.security.oauth2.server.authorization.token.JwtEncodingContext;
import org.springframework.security.oauth2.server.authorization.token.OAuth2TokenCustomizer;

/**
 * Sets the {@code aud} of access tokens to the one configured audience.
 *
 * <p>Spring Authorization Server puts the client id there, which names the token's holder
 * rather than the service it is for. The cloud service checks for its own name, so that is
 * the only audience listed.
 */
final class AudienceCustomizer implements OAuth2TokenCustomizer<JwtEncodingContext> {
    private final String audience;

    AudienceCustomizer(String audience) {
        this.audience = audience;
    }

    @Override
    public void customize(JwtEncodingContext context) {
        if (OAuth2TokenType.ACCESS_TOKEN.equals(context.getTokenType())) {
            context.getClaims().audience(List.of(this.audience));
        }
    }
}
