package io.tandem.cloud.prewarm;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.scheduling.support.CronExpression;

/**
 * When to warm which partitions, and which are warm: plain Java over an injected clock. Each
 * entry's cron expression gives its fire times; {@link #runDue} warms the entries whose time has
 * come and records when each partition became warm, which health and metrics report.
 */
public final class PrewarmSchedule {

    private static final Logger log = LoggerFactory.getLogger(PrewarmSchedule.class);

    /** Loads and warms the partition starting at {@code firstLayer} of every served model; returns what it warmed. */
    @FunctionalInterface
    public interface Warmer {
        List<String> warm(int firstLayer);
    }

    /** One scheduled entry. */
    public record Entry(String cron, CronExpression expression, List<Integer> firstLayers) {
    }

    private final List<Entry> entries = new ArrayList<>();
    private final ZoneId zone;
    private final Clock clock;
    private final Warmer warmer;
    private final Map<String, Instant> warm = new LinkedHashMap<>();
    private final Map<Entry, Instant> nextFire = new LinkedHashMap<>();

    /** @throws IllegalArgumentException naming the entry whose cron expression does not parse */
    public PrewarmSchedule(List<String> crons, List<List<Integer>> firstLayers, String zone, Clock clock, Warmer warmer) {
        try {
            this.zone = ZoneId.of(zone);
        } catch (java.time.DateTimeException e) {
            throw new IllegalArgumentException("tandem.cloud.prewarm.zone: '" + zone + "' is not a time zone");
        }
        this.clock = clock;
        this.warmer = warmer;
        for (int i = 0; i < crons.size(); i++) {
            CronExpression expression;
            try {
                expression = CronExpression.parse(crons.get(i));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("tandem.cloud.prewarm.schedule[" + i + "].cron '" + crons.get(i)
                        + "' is not a cron expression (second minute hour day month weekday): " + e.getMessage());
            }
            Entry entry = new Entry(crons.get(i), expression, firstLayers.get(i));
            entries.add(entry);
            nextFire.put(entry, next(entry, clock.instant()));
        }
    }

    private Instant next(Entry entry, Instant after) {
        ZonedDateTime next = entry.expression().next(ZonedDateTime.ofInstant(after, zone));
        return next == null ? Instant.MAX : next.toInstant();
    }

    /** The next time any entry fires, or empty with no entries. */
    public synchronized java.util.Optional<Instant> nextFire() {
        return nextFire.values().stream().min(Instant::compareTo);
    }

    /** Warms every entry whose fire time has come; returns the partitions warmed. */
    public synchronized List<String> runDue() {
        Instant now = clock.instant();
        List<String> warmed = new ArrayList<>();
        for (Entry entry : entries) {
            if (!nextFire.get(entry).isAfter(now)) {
                warmed.addAll(warmNow(entry.firstLayers(), "schedule '" + entry.cron() + "'"));
                nextFire.put(entry, next(entry, now));
            }
        }
        return warmed;
    }

    /** Warms these partitions now, whatever the schedule says. */
    public synchronized List<String> warmNow(List<Integer> firstLayers, String why) {
        List<String> warmed = new ArrayList<>();
        for (int first : firstLayers) {
            long start = System.nanoTime();
            try {
                for (String partition : warmer.warm(first)) {
                    warm.put(partition, clock.instant());
                    warmed.add(partition);
                    log.info("pre-warm ({}): {} is warm after {} ms", why, partition, (System.nanoTime() - start) / 1_000_000);
                }
            } catch (RuntimeException e) {
                log.warn("pre-warm ({}) of layers from {} failed: {}", why, first, e.getMessage());
            }
        }
        return warmed;
    }

    /** Partitions warmed so far, with when. */
    public synchronized Map<String, Instant> warm() {
        return Map.copyOf(warm);
    }

    public List<Entry> entries() {
        return List.copyOf(entries);
    }
}
