package io.tandem.edge.link;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.tandem.edge.config.ConcurrencyProperties;
import io.tandem.edge.inference.LocalInference;
import io.tandem.edge.inference.LocalModelConfiguration.WarmModel;
import java.time.Clock;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.security.config.web.server.ServerHttpSecurity;
import org.springframework.security.oauth2.client.AuthorizedClientServiceReactiveOAuth2AuthorizedClientManager;
import org.springframework.security.oauth2.client.InMemoryReactiveOAuth2AuthorizedClientService;
import org.springframework.security.oauth2.client.OAuth2AuthorizeRequest;
import org.springframework.security.oauth2.client.OAuth2AuthorizedClient;
import org.springframework.security.oauth2.client.ReactiveOAuth2AuthorizedClientProviderBuilder;
import org.springframework.security.oauth2.client.registration.ReactiveClientRegistrationRepository;
import org.springframework.security.web.server.SecurityWebFilterChain;

/**
 * The cloud link, when {@code tandem.link.enabled}: its token comes from the OAuth2 client
 * registration the link names (client credentials against the configured issuer; Spring Security
 * caches it and fetches a new one before it expires), and it is part of health.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties({LinkProperties.class, ResilienceProperties.class, DeliveryProperties.class})
public class LinkConfiguration {

    /**
     * The edge's own API is open: it serves a kiosk on the device's network. Spring Security is on
     * the classpath only for the link's OAuth2 client, so say so rather than get its login defaults.
     */
    @Bean
    SecurityWebFilterChain edgeSecurity(ServerHttpSecurity http) {
        return http.authorizeExchange(exchanges -> exchanges.anyExchange().permitAll())
                // stateless: the default would make a web session per request, whose store moves the rest of
                // the request onto Reactor's parallel threads (a third thread meeting each stream's start)
                .securityContextRepository(
                        org.springframework.security.web.server.context.NoOpServerSecurityContextRepository.getInstance())
                .requestCache(cache -> cache.requestCache(
                        org.springframework.security.web.server.savedrequest.NoOpServerRequestCache.getInstance()))
                .csrf(ServerHttpSecurity.CsrfSpec::disable)
                .httpBasic(ServerHttpSecurity.HttpBasicSpec::disable)
                .formLogin(ServerHttpSecurity.FormLoginSpec::disable)
                .logout(ServerHttpSecurity.LogoutSpec::disable)
                .build();
    }

    @Bean(destroyMethod = "close")
    @ConditionalOnProperty("tandem.link.enabled")
    CloudLink cloudLink(LinkProperties properties, ObjectProvider<ReactiveClientRegistrationRepository> registrations,
                        MeterRegistry registry) {
        ReactiveClientRegistrationRepository repository = registrations.getIfAvailable();
        if (repository == null || repository.findByRegistrationId(properties.registration()).block() == null) {
            throw new IllegalStateException("tandem.link.enabled needs the OAuth2 client registration '"
                    + properties.registration() + "': set spring.security.oauth2.client.registration."
                    + properties.registration() + ".{client-id,client-secret,authorization-grant-type=client_credentials,scope}"
                    + " and spring.security.oauth2.client.provider." + properties.registration() + ".token-uri");
        }
        AuthorizedClientServiceReactiveOAuth2AuthorizedClientManager manager =
                new AuthorizedClientServiceReactiveOAuth2AuthorizedClientManager(repository,
                        new InMemoryReactiveOAuth2AuthorizedClientService(repository));
        manager.setAuthorizedClientProvider(ReactiveOAuth2AuthorizedClientProviderBuilder.builder().clientCredentials().build());
        OAuth2AuthorizeRequest request = OAuth2AuthorizeRequest.withClientRegistrationId(properties.registration())
                .principal("tandem-edge").build();
        CloudLink.TokenSource tokens = () -> {
            OAuth2AuthorizedClient client;
            try {
                client = manager.authorize(request).block(properties.connectTimeout());
            } catch (RuntimeException e) {
                throw new LinkException("cannot get the agent's token from the issuer: " + e.getMessage(), e);
            }
            if (client == null) {
                throw new LinkException("the issuer gave no token for registration " + properties.registration());
            }
            return new CloudLink.AgentToken(client.getAccessToken().getTokenValue(), client.getAccessToken().getExpiresAt());
        };
        CloudLink link = new CloudLink(properties.url(), tokens, properties.wireLimits(), properties.connectTimeout(),
                properties.backoffMin(), properties.backoffMax(), Clock.systemUTC(),
                (kind, bytes) -> DistributionSummary.builder("tandem.link.frame.bytes").baseUnit("bytes")
                        .tag("codec", kind).register(registry).record(bytes));
        link.start();
        return link;
    }

    @Bean(destroyMethod = "close")
    @ConditionalOnProperty("tandem.link.enabled")
    CloudRoutes cloudRoutes(CloudLink link, LinkProperties properties, ResilienceProperties resilience, WarmModel warm,
                            ConcurrencyProperties concurrency, DeliveryProperties delivery) {
        // one thread per cloud session the bulkhead allows, and as many waiting
        LocalInference runner = new LocalInference(warm.engine()::generate, resilience.maxCloudSessions(),
                resilience.maxCloudSessions(), concurrency.retryAfter());
        return new CloudRoutes(link, CloudGuard.of(resilience, properties), properties, delivery, warm.engine(),
                warm.partitions(), runner);
    }

    /**
     * Down is not unhealthy for the edge (it answers locally) but it is not the hybrid it was
     * configured to be: DEGRADED (still served, still live) while the link is down.
     */
    @Bean
    @ConditionalOnProperty("tandem.link.enabled")
    HealthIndicator cloudLinkHealth(CloudLink link, CloudRoutes routes) {
        return () -> (link.state() == CloudLink.State.UP ? Health.up()
                        : Health.status(io.tandem.edge.config.RoutingConfiguration.DEGRADED)
                                .withDetail("mode", "local only: the link to the cloud is down"))
                .withDetail("link", link.state().name())
                .withDetail("breaker", routes.guard().breaker().getState().name())
                .withDetail("cloudSessionsFree", routes.guard().bulkhead().getMetrics().getAvailableConcurrentCalls())
                .withDetail("cloudLoad", link.load().map(l -> java.util.Map.of("queueDepth", l.queueDepth(),
                        "sessions", l.sessions(), "stepMillis", l.stepMillis())).orElse(java.util.Map.of()))
                .withDetail("url", link.url().toString())
                .withDetail("sessions", link.sessions())
                .withDetail("lastError", link.state() == CloudLink.State.UP ? "" : link.lastError())
                .build();
    }
}
