package io.tandem.cloud.pool;

import io.tandem.cloud.config.PoolProperties;
import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.engine.Partitions;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.runtime.RuntimeOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.actuate.info.InfoContributor;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The in-process pool: the served models, loaded and built whole at startup, and the step workers. */
@Configuration(proxyBeanMethods = false)
public class PoolConfiguration {

    private static final Logger log = LoggerFactory.getLogger(PoolConfiguration.class);

    @Bean(name = "stepWorkers", destroyMethod = "shutdownNow")
    ThreadPoolExecutor stepWorkers(PoolProperties properties) {
        int n = properties.effectiveWorkers();
        AtomicInteger count = new AtomicInteger();
        return new ThreadPoolExecutor(n, n, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "tandem-step-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    @Bean(destroyMethod = "close")
    LayerPool layerPool(PoolProperties properties, @Qualifier("stepWorkers") ThreadPoolExecutor stepWorkers) {
        EngineOptions options = new EngineOptions(WeightPrecision.parse(properties.weights()),
                GraphFlavour.parse(properties.flavour()), 0, RuntimeOptions.threads(properties.threads()));
        List<Partitions> served = new ArrayList<>();
        try {
            if (properties.embedded()) {
                served.add(new Partitions(LoadedModel.embedded(), options));
            }
            for (PoolProperties.ModelEntry entry : properties.models()) {
                served.add(new Partitions(LoadedModel.load(entry.path(), entry.tokenizer()), options));
            }
            for (Partitions p : served) {
                long start = System.nanoTime();
                p.range(0, p.config().layers());
                log.info("serving {} ({}, {} layers, {}) as {}, built in {} ms", p.model().name(), properties.weights(),
                        p.config().layers(), properties.flavour(), p.modelHash(), (System.nanoTime() - start) / 1_000_000);
            }
        } catch (IOException e) {
            served.forEach(Partitions::close);
            throw new UncheckedIOException("cannot load a model listed in tandem.cloud.pool.models: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            served.forEach(Partitions::close);
            throw e;
        }
        return new InProcessPool(served, () -> stepWorkers.getQueue().size());
    }

    @Bean
    HealthIndicator pool(LayerPool pool) {
        return () -> Health.up()
                .withDetail("models", pool.models().stream().map(m -> m.name() + " " + m.modelHash()).toList())
                .withDetail("queueDepth", pool.queueDepth())
                .build();
    }

    @Bean
    InfoContributor poolInfo(LayerPool pool) {
        return builder -> builder.withDetail("models", pool.models());
    }
}
