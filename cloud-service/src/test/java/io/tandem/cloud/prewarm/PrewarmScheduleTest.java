package io.tandem.cloud.prewarm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The pre-warm schedule on a simulated clock: fires when its cron says, once, and records what is warm. */
class PrewarmScheduleTest {

    /** A clock the test moves. */
    static final class MovingClock extends Clock {
        Instant now;

        MovingClock(Instant now) {
            this.now = now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @Test
    void warmsThePartitionsWhenTheCronFiresAndReportsThemWarm() {
        MovingClock clock = new MovingClock(Instant.parse("2026-12-07T07:00:00Z")); // a Monday
        List<Integer> warmedLayers = new ArrayList<>();
        PrewarmSchedule schedule = new PrewarmSchedule(List.of("0 45 7 * * MON-FRI", "0 0 12 * * *"),
                List.of(List.of(0, 2), List.of(4)), "Europe/Berlin", clock, first -> {
                    warmedLayers.add(first);
                    return List.of("m layers " + first + "..5");
                });
        // 07:45 in Berlin is 06:45 UTC: already past on this Monday, so the next is Tuesday; noon Berlin is 11:00 UTC
        assertThat(schedule.nextFire()).contains(Instant.parse("2026-12-07T11:00:00Z"));
        assertThat(schedule.runDue()).isEmpty();
        clock.now = Instant.parse("2026-12-07T11:00:00Z");
        assertThat(schedule.runDue()).containsExactly("m layers 4..5");
        assertThat(schedule.runDue()).as("fires once").isEmpty();
        assertThat(schedule.nextFire()).contains(Instant.parse("2026-12-08T06:45:00Z"));
        clock.now = Instant.parse("2026-12-08T06:45:01Z");
        assertThat(schedule.runDue()).containsExactly("m layers 0..5", "m layers 2..5");
        assertThat(warmedLayers).containsExactly(4, 0, 2);
        assertThat(schedule.warm()).containsEntry("m layers 0..5", Instant.parse("2026-12-08T06:45:01Z"))
                .containsEntry("m layers 4..5", Instant.parse("2026-12-07T11:00:00Z"));
    }

    @Test
    void aWarmingThatFailsIsLoggedAndTheOthersStillRun() {
        MovingClock clock = new MovingClock(Instant.parse("2026-12-07T07:00:00Z"));
        PrewarmSchedule schedule = new PrewarmSchedule(List.of("0 0 * * * *"), List.of(List.of(1, 3)), "UTC", clock, first -> {
            if (first == 1) {
                throw new IllegalStateException("out of memory");
            }
            return List.of("m layers " + first + "..5");
        });
        clock.now = Instant.parse("2026-12-07T08:00:00Z");
        assertThat(schedule.runDue()).containsExactly("m layers 3..5");
    }

    @Test
    void badExpressionsAndZonesAreRefusedByName() {
        Clock clock = Clock.systemUTC();
        assertThatThrownBy(() -> new PrewarmSchedule(List.of("0 0 7 * * MON", "every morning"), List.of(List.of(0), List.of(0)),
                "UTC", clock, f -> List.of()))
                .hasMessageContaining("tandem.cloud.prewarm.schedule[1].cron 'every morning' is not a cron expression");
        assertThatThrownBy(() -> new PrewarmSchedule(List.of(), List.of(), "Mars/Olympus", clock, f -> List.of()))
                .hasMessageContaining("'Mars/Olympus' is not a time zone");
    }
}
