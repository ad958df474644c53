package io.tandem.cloud;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/**
 * The cloud side of Tandem: agents connect over an authenticated binary WebSocket and run the
 * layers their edge leaves to the cloud (SPLIT) or the whole model (CLOUD), one session each.
 */
@SpringBootApplication
@ConfigurationPropertiesScan
public class CloudApplication {
    public static void main(String[] args) {
        SpringApplication.run(CloudApplication.class, args);
    }
}
