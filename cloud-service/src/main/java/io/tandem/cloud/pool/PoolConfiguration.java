package io.tandem.cloud.pool;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.tandem.cloud.batch.StepScheduler;
import io.tandem.cloud.config.PoolProperties;
import io.tandem.cloud.config.TritonPoolProperties;
import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.GraphStore;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.engine.Partitions;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.runtime.RuntimeOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
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

/**
 * The pool the sessions' steps run in: a KServe pool when {@code tandem.cloud.triton.endpoints}
 * lists endpoints, else this process, batched ({@code tandem.cloud.pool.batching}, the default) or
 * one ONNX Runtime run per step; and the step workers the sessions run on.
 */
@Configuration(proxyBeanMethods = false)
public class PoolConfiguration {

    private static final Logger log = LoggerFactory.getLogger(PoolConfiguration.class);

    /**
     * The sessions' workers. Batched or remote steps block their worker until their pass or the
     * endpoint answers, so those sessions get a virtual thread each; unbatched steps run ONNX
     * Runtime on the worker, one platform thread per core.
     */
    @Bean(name = "stepWorkers", destroyMethod = "shutdownNow")
    ExecutorService stepWorkers(PoolProperties properties, TritonPoolProperties triton) {
        if (properties.batching().enabled() || !triton.endpoints().isEmpty()) {
            return Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("tandem-step-", 1).factory());
        }
        int n = properties.effectiveWorkers();
        AtomicInteger count = new AtomicInteger();
        return new ThreadPoolExecutor(n, n, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "tandem-step-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    @Bean(destroyMethod = "close")
    LayerPool layerPool(PoolProperties properties, TritonPoolProperties triton,
                        @Qualifier("stepWorkers") ExecutorService stepWorkers, Clock clock, MeterRegistry registry) {
        PoolProperties.Batching batching = properties.batching();
        int threads = batching.enabled() ? batching.threads() : properties.threads();
        EngineOptions options = new EngineOptions(WeightPrecision.parse(properties.weights()),
                GraphFlavour.parse(properties.flavour()), 0, RuntimeOptions.threads(threads));
        List<Partitions> served = new ArrayList<>();
        GraphStore store = GraphStore.cachedIfWritable(properties.cacheDir());
        try {
            if (properties.embedded()) {
                served.add(new Partitions(LoadedModel.embedded(), options, store));
            }
            for (PoolProperties.ModelEntry entry : properties.models()) {
                served.add(new Partitions(LoadedModel.load(entry.path(), entry.tokenizer()), options, store));
            }
            if (!triton.endpoints().isEmpty()) {
                List<PoolModel> models = served.stream().map(p -> new PoolModel(p.model().name(), p.modelHash(),
                        p.config().layers(), p.config().dim(), p.config().vocabSize(), p.config().contextLength(),
                        properties.weights(), List.of())).toList();
                served.forEach(Partitions::close);
                log.info("the cloud's layers run on the KServe v2 endpoints {}", triton.endpoints());
                return new KServePool(models, triton.endpoints(), triton.healthInterval(), triton.stepTimeout());
            }
            for (Partitions p : served) {
                long start = System.nanoTime();
                if (batching.enabled()) {
                    p.batchedRange(0, p.config().layers(), batching.maxBatch());
                } else {
                    p.range(0, p.config().layers());
                }
                log.info("serving {} ({}, {} layers, {}{}) as {}, built in {} ms", p.model().name(), properties.weights(),
                        p.config().layers(), properties.flavour(), batching.enabled()
                                ? ", batched up to " + batching.maxBatch() + " rows" : "",
                        p.modelHash(), (System.nanoTime() - start) / 1_000_000);
            }
        } catch (IOException e) {
            served.forEach(Partitions::close);
            throw new UncheckedIOException("cannot load a model listed in tandem.cloud.pool.models: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            served.forEach(Partitions::close);
            throw e;
        }
        if (batching.enabled()) {
            return new BatchingPool(served, batching.settings(), clock, (scheduler, model, range) -> {
                registerRangeGauges(scheduler, registry, model, range);
                return new PoolMetrics(registry, model, range, batching.maxBatch());
            });
        }
        ThreadPoolExecutor workers = (ThreadPoolExecutor) stepWorkers;
        return new InProcessPool(served, () -> workers.getQueue().size());
    }

    /**
     * Scaling signals per model and layer range, for an autoscaler (an HPA on a custom metric, KEDA):
     * steps waiting, sequences open, rows per pass over max-batch, and step latency (waiting included).
     */
    static final class PoolMetrics implements StepScheduler.Listener {
        private final DistributionSummary fill;
        private final Timer latency;
        private final Timer pass;

        PoolMetrics(MeterRegistry registry, String model, String range, int maxBatch) {
            this.fill = DistributionSummary.builder("tandem.pool.batch.fill")
                    .description("Rows per decode pass over max-batch (1 = full)")
                    .tags("model", model, "range", range).publishPercentiles(0.5, 0.95).register(registry);
            this.latency = Timer.builder("tandem.pool.step.latency")
                    .description("From a step's arrival to its logits, waiting for its pass included")
                    .tags("model", model, "range", range).publishPercentileHistogram().register(registry);
            this.pass = Timer.builder("tandem.pool.pass.duration").description("One ONNX Runtime pass")
                    .tags("model", model, "range", range).register(registry);
            this.maxBatch = maxBatch;
        }

        private final int maxBatch;

        @Override
        public void pass(int rows, int positions, long nanos) {
            pass.record(nanos, TimeUnit.NANOSECONDS);
            if (positions == 1) {
                fill.record((double) rows / maxBatch);
            }
        }

        @Override
        public void step(long nanos, int positions) {
            if (positions == 1) {
                latency.record(nanos, TimeUnit.NANOSECONDS);
            }
        }
    }

    private static void registerRangeGauges(StepScheduler s, MeterRegistry registry, String model, String range) {
        Gauge.builder("tandem.pool.queue.depth", s, StepScheduler::queueDepth)
                .description("Steps waiting for a pass").tags("model", model, "range", range).register(registry);
        Gauge.builder("tandem.pool.sessions", s, StepScheduler::sequences)
                .description("Sequences open on the range").tags("model", model, "range", range).register(registry);
    }

    @Bean
    HealthIndicator pool(LayerPool pool) {
        return () -> {
            Health.Builder health = Health.up()
                    .withDetail("models", pool.models().stream().map(m -> m.name() + " " + m.modelHash()).toList())
                    .withDetail("queueDepth", pool.queueDepth());
            if (pool instanceof KServePool remote) {
                Map<String, Object> endpoints = new LinkedHashMap<>();
                boolean anyUp = false;
                for (KServePool.Endpoint e : remote.endpoints()) {
                    anyUp |= e.up();
                    endpoints.put(e.address(), e.up() ? Map.of("status", "UP", "sequences", e.openSequences())
                            : Map.of("status", "DOWN", "error", e.lastError()));
                }
                health.withDetail("endpoints", endpoints);
                if (!anyUp) {
                    health.down();
                }
            }
            return health.build();
        };
    }

    @Bean
    InfoContributor poolInfo(LayerPool pool) {
        return builder -> builder.withDetail("models", pool.models());
    }
}
