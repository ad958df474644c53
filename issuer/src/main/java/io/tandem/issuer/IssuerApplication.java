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
        if (args.length > 0 && args[0].equals("device")) {
            // bin/tandem device ...: edits the device registry, no server
            System.exit(io.tandem.issuer.device.DeviceCommand.run(java.util.List.of(args).subList(1, args.length),
                    System.out, System.err));
        }
        SpringApplication.run(IssuerApplication.class, args);
    }
}
