package io.tandem.cloud.security;

import io.tandem.cloud.config.AgentEndpointProperties;
import io.tandem.cloud.config.AgentSecurityProperties;
import io.tandem.cloud.session.CloudMetrics;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.interfaces.RSAPublicKey;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.config.annotation.web.reactive.EnableWebFluxSecurity;
import org.springframework.security.config.web.server.ServerHttpSecurity;
import org.springframework.security.converter.RsaKeyConverters;
import org.springframework.security.oauth2.core.DelegatingOAuth2TokenValidator;
import org.springframework.security.oauth2.core.OAuth2TokenValidator;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtClaimNames;
import org.springframework.security.oauth2.jwt.JwtClaimValidator;
import org.springframework.security.oauth2.jwt.JwtIssuerValidator;
import org.springframework.security.oauth2.jwt.JwtTimestampValidator;
import org.springframework.security.oauth2.jwt.NimbusReactiveJwtDecoder;
import org.springframework.security.oauth2.jwt.ReactiveJwtDecoder;
import org.springframework.security.oauth2.server.resource.web.access.server.BearerTokenServerAccessDeniedHandler;
import org.springframework.security.oauth2.server.resource.web.server.BearerTokenServerAuthenticationEntryPoint;
import org.springframework.security.web.server.SecurityWebFilterChain;
import org.springframework.security.web.server.context.NoOpServerSecurityContextRepository;
import org.springframework.security.web.server.savedrequest.NoOpServerRequestCache;

/**
 * Agents authenticate with a bearer JWT at the WebSocket handshake: no valid token, no upgrade
 * (401), a valid token without the agent scope gets 403. The token is only read at the
 * handshake; {@code AgentWebSocketHandler} closes the connection when it expires. Actuator stays
 * open for probes and scraping; nothing else is served.
 */
@Configuration(proxyBeanMethods = false)
@EnableWebFluxSecurity
public class AgentSecurityConfiguration {

    @Bean
    SecurityWebFilterChain agentSecurity(ServerHttpSecurity http, ReactiveJwtDecoder agentJwtDecoder,
                                         AgentEndpointProperties endpoint, AgentSecurityProperties security,
                                         CloudMetrics metrics) {
        BearerTokenServerAuthenticationEntryPoint bearer = new BearerTokenServerAuthenticationEntryPoint();
        BearerTokenServerAccessDeniedHandler denied = new BearerTokenServerAccessDeniedHandler();
        return http
                .authorizeExchange(exchanges -> exchanges
                        .pathMatchers(endpoint.path()).hasAuthority("SCOPE_" + security.scope())
                        .pathMatchers("/actuator/**").permitAll()
                        .anyExchange().denyAll())
                .oauth2ResourceServer(rs -> rs
                        .jwt(jwt -> jwt.jwtDecoder(agentJwtDecoder))
                        .authenticationEntryPoint((exchange, e) -> {
                            metrics.handshakeRejected("unauthenticated");
                            return bearer.commence(exchange, e);
                        })
                        .accessDeniedHandler((exchange, e) -> {
                            metrics.handshakeRejected("forbidden");
                            return denied.handle(exchange, e);
                        }))
                // stateless: loading a web session hops threads and lets the first frame after the upgrade be lost
                .securityContextRepository(NoOpServerSecurityContextRepository.getInstance())
                .requestCache(cache -> cache.requestCache(NoOpServerRequestCache.getInstance()))
                .csrf(ServerHttpSecurity.CsrfSpec::disable)
                .httpBasic(ServerHttpSecurity.HttpBasicSpec::disable)
                .formLogin(ServerHttpSecurity.FormLoginSpec::disable)
                .logout(ServerHttpSecurity.LogoutSpec::disable)
                .build();
    }

    /** Checks signature, issuer, audience and expiry; the scope is checked by the filter chain. */
    @Bean
    ReactiveJwtDecoder agentJwtDecoder(AgentSecurityProperties security, Clock clock, RevokedDevices revoked) {
        NimbusReactiveJwtDecoder decoder = security.jwkSetUri() != null
                ? NimbusReactiveJwtDecoder.withJwkSetUri(security.jwkSetUri().toString()).build()
                : NimbusReactiveJwtDecoder.withPublicKey(readPublicKey(security)).build();
        JwtClaimValidator<List<String>> audience = new JwtClaimValidator<>(JwtClaimNames.AUD,
                aud -> aud != null && aud.contains(security.audience()));
        List<OAuth2TokenValidator<Jwt>> validators = new ArrayList<>(List.of(
                new JwtTimestampValidator(security.clockSkew()),
                new TokenLifetimeValidator(security.maxTokenLifetime(), clock),
                new JwtIssuerValidator(security.issuer()),
                audience,
                revoked));
        if (security.jtiReplayProtection()) {
            validators.add(new JtiReplayValidator(clock)); // last: only a token valid otherwise is remembered
        }
        decoder.setJwtValidator(new DelegatingOAuth2TokenValidator<>(validators));
        return decoder;
    }

    @Bean
    RevokedDevices revokedDevices() {
        return new RevokedDevices();
    }

    /** Reads the issuer's revocation list when one is configured; a newly revoked device's connections close at once. */
    @Bean(destroyMethod = "close")
    @org.springframework.boot.autoconfigure.condition.ConditionalOnProperty("tandem.cloud.security.revocation-list-uri")
    RevocationListPoller revocationListPoller(AgentSecurityProperties security, RevokedDevices revoked,
                                              io.tandem.cloud.agent.AgentConnections connections, CloudMetrics metrics) {
        return new RevocationListPoller(security.revocationListUri(), security.revocationPollInterval(), revoked,
                device -> connections.closeDevice(device, io.tandem.cloud.agent.AgentWebSocketHandler.CLOSE_TOKEN_EXPIRED,
                        "device " + device + " was revoked"), metrics);
    }

    private static RSAPublicKey readPublicKey(AgentSecurityProperties security) {
        try (InputStream in = security.publicKey().getInputStream()) {
            return RsaKeyConverters.x509().convert(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read tandem.cloud.security.public-key " + security.publicKey(), e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("tandem.cloud.security.public-key " + security.publicKey()
                    + " is not an X.509 PEM RSA public key: " + e.getMessage(), e);
        }
    }
}
