package io.tandem.issuer;

import java.io.IOException;
import java.util.List;
import java.util.Map;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.http.server.ServletServerHttpResponse;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.core.AuthenticationException;
import org.springframework.security.oauth2.core.AuthorizationGrantType;
import org.springframework.security.oauth2.core.OAuth2Error;
import org.springframework.security.oauth2.core.OAuth2ErrorCodes;
import org.springframework.security.oauth2.core.http.converter.OAuth2ErrorHttpMessageConverter;
import org.springframework.security.oauth2.server.authorization.OAuth2AuthorizationServerMetadataClaimNames;
import org.springframework.security.oauth2.server.authorization.settings.AuthorizationServerSettings;
import org.springframework.security.oauth2.server.authorization.token.JwtEncodingContext;
import org.springframework.security.oauth2.server.authorization.token.OAuth2TokenCustomizer;
import org.springframework.security.web.AuthenticationEntryPoint;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.servlet.util.matcher.PathPatternRequestMatcher;
import org.springframework.security.web.util.matcher.OrRequestMatcher;

/**
 * The issuer's web security: the authorization server endpoints, the health probe, and nothing
 * else.
 *
 * <p>Declaring the filter chains here replaces Boot's defaults, which add a form login page
 * and redirect browsers to it; clients of a client_credentials-only server have no use for
 * one. Only OAuth 2.0 metadata is served ({@code /.well-known/oauth-authorization-server}),
 * not OpenID Connect: there are no users and no ID tokens, and Spring Security clients and
 * resource servers fall back to the OAuth metadata when the OIDC document is absent.
 */
@Configuration(proxyBeanMethods = false)
class SecurityConfiguration {
    /** RFC 8414; an issuer with a path gets it appended. */
    private static final String METADATA_PATH = "/.well-known/oauth-authorization-server";

    @Bean
    @Order(Ordered.HIGHEST_PRECEDENCE)
    SecurityFilterChain authorizationServerChain(HttpSecurity http, AuthorizationServerSettings settings) {
        // Only the endpoints a client_credentials issuer needs. The others (authorize,
        // introspect, revoke) are left unmatched so they answer 404: with no redirect URIs
        // registered, /oauth2/authorize even fails with a 500 inside Spring Authorization Server.
        PathPatternRequestMatcher.Builder paths = PathPatternRequestMatcher.withDefaults();
        http.securityMatcher(new OrRequestMatcher(paths.matcher(HttpMethod.POST, settings.getTokenEndpoint()),
                paths.matcher(HttpMethod.GET, settings.getJwkSetEndpoint()),
                paths.matcher(HttpMethod.GET, METADATA_PATH + "/**")));
        http.oauth2AuthorizationServer((server) -> server
            .authorizationServerMetadataEndpoint((metadata) -> metadata.authorizationServerMetadataCustomizer(
                    (builder) -> builder.claims(SecurityConfiguration::advertiseOnlyWhatIsServed))));
        // The token endpoint needs an authenticated client; the JWKS and metadata endpoints
        // answer before this rule is reached.
        http.authorizeHttpRequests((authorize) -> authorize.anyRequest().authenticated());
        http.exceptionHandling((exceptions) -> exceptions.authenticationEntryPoint(new ClientAuthenticationRequired()));
        return http.build();
    }

    @Bean
    @Order(Ordered.HIGHEST_PRECEDENCE + 1)
    SecurityFilterChain everythingElseChain(HttpSecurity http) {
        // Nothing but the health and prometheus endpoints and the public revocation list
        // (GET /devices/revoked) is mapped here (see application.yml),
        // so letting requests through yields a plain 404 for unknown paths. A client probing
        // /.well-known/openid-configuration then reads "not OIDC" and falls back to the OAuth
        // metadata, where a 403 would suggest missing credentials. No sessions or forms either,
        // so CSRF protection would only turn those 404s into 403s for POSTs.
        http.authorizeHttpRequests((authorize) -> authorize.anyRequest().permitAll());
        http.csrf((csrf) -> csrf.disable());
        return http.build();
    }

    // authorization_endpoint stays: Spring's metadata builder refuses to build without it
    // (RFC 8414 asks for it whenever some grant uses it), though it answers 404 here.
    private static void advertiseOnlyWhatIsServed(Map<String, Object> claims) {
        for (String name : List.of(OAuth2AuthorizationServerMetadataClaimNames.CODE_CHALLENGE_METHODS_SUPPORTED,
                OAuth2AuthorizationServerMetadataClaimNames.REVOCATION_ENDPOINT,
                OAuth2AuthorizationServerMetadataClaimNames.REVOCATION_ENDPOINT_AUTH_METHODS_SUPPORTED,
                OAuth2AuthorizationServerMetadataClaimNames.INTROSPECTION_ENDPOINT,
                OAuth2AuthorizationServerMetadataClaimNames.INTROSPECTION_ENDPOINT_AUTH_METHODS_SUPPORTED)) {
            claims.remove(name);
        }
        claims.put(OAuth2AuthorizationServerMetadataClaimNames.GRANT_TYPES_SUPPORTED,
                List.of(AuthorizationGrantType.CLIENT_CREDENTIALS.getValue()));
    }

    /** Every access token is for the cloud service: its audience replaces the client id. */
    @Bean
    OAuth2TokenCustomizer<JwtEncodingContext> audienceCustomizer(IssuerProperties properties) {
        return new AudienceCustomizer(properties.audience());
    }

    /**
     * Answers a token request that carries no client credentials the way RFC 6749 (5.2)
     * answers failed client authentication: 401, {@code invalid_client}, and the scheme to
     * use. Spring's default here is a bare 401.
     */
    static final class ClientAuthenticationRequired implements AuthenticationEntryPoint {
        private final OAuth2ErrorHttpMessageConverter converter = new OAuth2ErrorHttpMessageConverter();

        @Override
        public void commence(HttpServletRequest request, HttpServletResponse response,
                AuthenticationException exception) throws IOException {
            ServletServerHttpResponse httpResponse = new ServletServerHttpResponse(response);
            httpResponse.setStatusCode(HttpStatus.UNAUTHORIZED);
            httpResponse.getHeaders().set(HttpHeaders.WWW_AUTHENTICATE, "Basic realm=\"tandem-issuer\"");
            this.converter.write(new OAuth2Error(OAuth2ErrorCodes.INVALID_CLIENT, "Client authentication required", null),
                    null, httpResponse);
        }
    }
}
