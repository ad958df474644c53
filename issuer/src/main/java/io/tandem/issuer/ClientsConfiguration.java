package io.tandem.issuer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.tandem.issuer.device.DeviceClientRepository;
import io.tandem.issuer.device.DeviceRegistry;

import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.security.oauth2.server.authorization.autoconfigure.servlet.OAuth2AuthorizationServerProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.oauth2.core.AuthorizationGrantType;
import org.springframework.security.oauth2.core.ClientAuthenticationMethod;
import org.springframework.security.oauth2.server.authorization.client.InMemoryRegisteredClientRepository;
import org.springframework.security.oauth2.server.authorization.client.RegisteredClient;
import org.springframework.security.oauth2.server.authorization.client.RegisteredClientRepository;
import org.springframework.security.oauth2.server.authorization.settings.TokenSettings;

/**
 * Who may ask for tokens: every device of the registry file as a client of its own, and any
 * clients configured in {@code spring.security.oauth2.authorizationserver.client.*} (Boot would
 * serve those alone; this repository serves both).
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(OAuth2AuthorizationServerProperties.class)
class ClientsConfiguration {

    @Bean
    RegisteredClientRepository registeredClientRepository(IssuerProperties issuer, OAuth2AuthorizationServerProperties server) {
        RegisteredClientRepository configured = configuredClients(server.getClient());
        if (issuer.devicesFile() == null) {
            if (configured == null) {
                throw new IllegalStateException("the issuer has no clients: set tandem.issuer.devices-file to a device"
                        + " registry (bin/tandem device add <id>) or configure spring.security.oauth2.authorizationserver.client.*");
            }
            return configured;
        }
        return new DeviceClientRepository(new DeviceRegistry(issuer.devicesFile()), configured, issuer.deviceScope(),
                issuer.deviceTokenTtl());
    }

    /** The client_credentials clients from properties, as Boot maps them (what a token issuer needs). */
    private static RegisteredClientRepository configuredClients(Map<String, OAuth2AuthorizationServerProperties.Client> clients) {
        List<RegisteredClient> registered = new ArrayList<>();
        clients.forEach((name, client) -> {
            OAuth2AuthorizationServerProperties.Registration r = client.getRegistration();
            RegisteredClient.Builder builder = RegisteredClient.withId(name)
                    .clientId(r.getClientId())
                    .clientSecret(r.getClientSecret())
                    .clientName(r.getClientName() != null ? r.getClientName() : r.getClientId());
            r.getClientAuthenticationMethods().forEach(m -> builder.clientAuthenticationMethod(new ClientAuthenticationMethod(m)));
            r.getAuthorizationGrantTypes().forEach(g -> builder.authorizationGrantType(new AuthorizationGrantType(g)));
            r.getScopes().forEach(builder::scope);
            builder.tokenSettings(TokenSettings.builder()
                    .accessTokenTimeToLive(client.getToken().getAccessTokenTimeToLive()).build());
            registered.add(builder.build());
        });
        return registered.isEmpty() ? null : new InMemoryRegisteredClientRepository(registered);
    }
}
