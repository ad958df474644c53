package io.tandem.edge.config;

import java.util.Locale;
import java.util.regex.Pattern;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * This edge's identity ({@code tandem.device.id}): the client id it authenticates to the cloud
 * with (config/edge.yml uses it as the OAuth2 client id), named in every audit line. Unset, the
 * host name stands in, so that an edge without a link still names itself.
 */
@ConfigurationProperties("tandem.device")
public record DeviceProperties(String id) {

    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9._-]{0,63}");

    public DeviceProperties {
        if (id == null || id.isBlank()) {
            String host = System.getenv("HOSTNAME");
            id = host == null || host.isBlank() ? "edge" : host.toLowerCase(Locale.ROOT);
        }
        if (!ID.matcher(id).matches()) {
            throw new IllegalArgumentException("tandem.device.id '" + id + "' is not a device id: use 1-64 of a-z, 0-9,"
                    + " '.', '_', '-', starting with a letter or digit (as 'bin/tandem device add' registers it)");
        }
    }
}
