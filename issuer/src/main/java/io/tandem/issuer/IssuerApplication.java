package io.tandem.issuer;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/**
 * The Tandem token issuer: an OAuth2 authorization server that gives edge agents signed JWT
 * access tokens (client_credentials grant) for the cloud service.
 *
 * <p>Registered clients, token lifetimes and the issuer URL are Boot's
 * {@code spring.security.oauth2.authorizationserver.*} properties; what Tandem adds is in
 * {@link IssuerProperties}.
 */
@SpringBootApplication
@ConfigurationPropertiesScan
public class IssuerApplication {
    public static void main(String[] args) {
        SpringApplication.run(IssuerApplication.class, args);
    }
}
