package io.tandem.edge.inference;

import io.micrometer.core.instrument.MeterRegistry;
import io.tandem.edge.config.ConcurrencyProperties;
import io.tandem.edge.config.ModelProperties;
import io.tandem.model.engine.Engine;
import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.engine.Partitions;
import io.tandem.model.generate.GenerationRequest;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.runtime.RuntimeOptions;
import io.tandem.model.sampling.SamplingParams;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.actuate.info.InfoContributor;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Loads the local model, builds its graphs and sessions, and runs one warm-up generation before
 * the application reports ready: readiness means the first real request is served at full speed.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties({ModelProperties.class, ConcurrencyProperties.class})
public class LocalModelConfiguration {

    private static final Logger log = LoggerFactory.getLogger(LocalModelConfiguration.class);

    /** The model as loaded and warmed, with how long each step took. */
    public record WarmModel(ServedModel served, Engine engine, Partitions partitions, long loadMillis,
                            long warmupMillis) implements AutoCloseable {
        @Override
        public void close() {
            engine.close();
            partitions.close();
        }
    }

    @Bean(destroyMethod = "close")
    WarmModel warmModel(ModelProperties properties) {
        long start = System.nanoTime();
        LoadedModel loaded;
        try {
            // a GGUF file (told apart by its first bytes) or a llama2.c checkpoint
            loaded = properties.path() == null
                    ? LoadedModel.embedded()
                    : LoadedModel.load(properties.path(), properties.tokenizer());
        } catch (IOException e) {
            throw new UncheckedIOException("tandem.model.path: cannot read " + properties.path() + ": " + e.getMessage(), e);
        }
        EngineOptions options = new EngineOptions(WeightPrecision.parse(properties.weights()),
                GraphFlavour.parse(properties.flavour()), 0,
                new RuntimeOptions(properties.threads(), properties.providers(), properties.sessionConfig(), true));
        Engine engine = Engine.open(loaded, options);
        long loaded_ = System.nanoTime();
        if (properties.warmupTokens() > 0) {
            engine.generate(new GenerationRequest(loaded.encodePrompt("Once"), properties.warmupTokens(), List.of(),
                    SamplingParams.greedy()));
        }
        long warm = System.nanoTime();
        // the model's own chat template (a GGUF file's tokenizer.chat_template), else plain text
        ServedModel served = new ServedModel(loaded.name(), loaded.tokenizer(), loaded.tokenizer().chatTemplate(),
                loaded.weights().config(), engine.manifests());
        log.info("model {} ready: {} layers, {} precision, {} flavour; loaded in {} ms, warmed up in {} ms",
                served.id(), served.config().layers(), options.precision().label(), options.flavour().label(),
                (loaded_ - start) / 1_000_000, (warm - loaded_) / 1_000_000);
        // the split route's first layers, built on first use at whatever split point a request asks for
        Partitions partitions = new Partitions(loaded, options);
        return new WarmModel(served, engine, partitions, (loaded_ - start) / 1_000_000, (warm - loaded_) / 1_000_000);
    }

    @Bean
    ServedModel servedModel(WarmModel warm) {
        return warm.served();
    }

    @Bean(destroyMethod = "close")
    LocalInference localInference(WarmModel warm, ConcurrencyProperties concurrency) {
        int active = concurrency.effectiveMaxActive();
        int queued = concurrency.maxQueued();
        return new LocalInference(warm.engine()::generate, active, queued, concurrency.retryAfter());
    }

    @Bean
    EdgeMetrics edgeMetrics(MeterRegistry registry, LocalInference inference) {
        return new EdgeMetrics(registry, inference);
    }

    /** Part of the readiness group: the model is loaded and has generated once. */
    @Bean
    HealthIndicator model(WarmModel warm) {
        return () -> Health.up()
                .withDetail("id", warm.served().id())
                .withDetail("loadMillis", warm.loadMillis())
                .withDetail("warmupMillis", warm.warmupMillis())
                .build();
    }

    @Bean
    InfoContributor modelInfo(WarmModel warm, LocalInference inference) {
        return builder -> {
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("id", warm.served().id());
            info.put("manifests", warm.served().manifests());
            info.put("maxActive", inference.maxActive());
            builder.withDetail("model", info);
        };
    }
}
