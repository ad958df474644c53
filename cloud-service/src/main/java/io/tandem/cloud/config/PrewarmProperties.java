package io.tandem.cloud.config;

import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Partitions to load and warm before expected peaks: each entry is a cron expression (Spring's
 * six fields: second minute hour day month weekday, in {@code zone}) and the first cloud layers to
 * warm (0 = the whole model; k = the cloud half of split k), for every served model. Also warmed
 * once at start-up when {@code onStartup} is set.
 */
@ConfigurationProperties("tandem.cloud.prewarm")
public record PrewarmProperties(List<Entry> schedule, String zone, boolean onStartup) {

    public record Entry(String cron, List<Integer> firstLayers) {
        public Entry {
            if (cron == null || cron.isBlank()) {
                throw new IllegalArgumentException("tandem.cloud.prewarm.schedule[].cron is required");
            }
            firstLayers = firstLayers == null || firstLayers.isEmpty() ? List.of(0) : List.copyOf(firstLayers);
        }
    }

    public PrewarmProperties {
        schedule = schedule == null ? List.of() : List.copyOf(schedule);
        zone = zone == null ? "UTC" : zone;
    }
}
