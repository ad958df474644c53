package io.tandem.edge.config;

import java.nio.file.Path;
import org.springframework.boot.context.properties.ConfigurationProperties;

/** Where the audit trail goes ({@code tandem.audit.path}); unset keeps none on disk. */
@ConfigurationProperties("tandem.audit")
public record AuditProperties(Path path) {
}
