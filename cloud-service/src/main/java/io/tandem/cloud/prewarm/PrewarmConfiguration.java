package io.tandem.cloud.prewarm;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.tandem.cloud.config.PrewarmProperties;
import io.tandem.cloud.pool.BatchingPool;
import io.tandem.cloud.pool.LayerPool;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The pre-warm schedule over the batching pool: a timer thread, a health entry and a gauge. */
@Configuration(proxyBeanMethods = false)
public class PrewarmConfiguration {

    @Bean
    PrewarmSchedule prewarmSchedule(PrewarmProperties properties, LayerPool pool, Clock clock, MeterRegistry registry) {
        PrewarmSchedule.Warmer warmer = first -> pool instanceof BatchingPool batching ? batching.warm(first)
                : List.of(); // a KServe pool's endpoints warm themselves (Triton's model_warmup)
        PrewarmSchedule schedule = new PrewarmSchedule(
                properties.schedule().stream().map(PrewarmProperties.Entry::cron).toList(),
                properties.schedule().stream().map(PrewarmProperties.Entry::firstLayers).toList(),
                properties.zone(), clock, warmer);
        Gauge.builder("tandem.pool.warm.partitions", schedule, s -> s.warm().size())
                .description("Partitions loaded and warmed by the pre-warm schedule").register(registry);
        return schedule;
    }

    @Bean
    SmartLifecycle prewarmTimer(PrewarmSchedule schedule, PrewarmProperties properties, Clock clock) {
        return new SmartLifecycle() {
            private ScheduledExecutorService timer;

            @Override
            public void start() {
                timer = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("tandem-prewarm").unstarted(r));
                if (properties.onStartup()) {
                    timer.execute(() -> schedule.warmNow(schedule.entries().stream()
                            .flatMap(e -> e.firstLayers().stream()).distinct().toList(), "start-up"));
                }
                if (!schedule.entries().isEmpty()) {
                    timer.scheduleWithFixedDelay(() -> {
                        Instant next = schedule.nextFire().orElse(Instant.MAX);
                        if (!next.isAfter(clock.instant())) {
                            schedule.runDue();
                        }
                    }, 1, 1, TimeUnit.SECONDS);
                }
            }

            @Override
            public void stop() {
                if (timer != null) {
                    timer.shutdownNow();
                }
            }

            @Override
            public boolean isRunning() {
                return timer != null && !timer.isShutdown();
            }
        };
    }

    @Bean
    HealthIndicator prewarm(PrewarmSchedule schedule) {
        return () -> Health.up()
                .withDetail("schedule", schedule.entries().stream().map(e -> e.cron() + " -> layers from " + e.firstLayers()).toList())
                .withDetail("nextFire", schedule.nextFire().map(Instant::toString).orElse("none"))
                .withDetail("warm", schedule.warm().entrySet().stream().map(e -> e.getKey() + " since " + e.getValue()).toList())
                .build();
    }

}
