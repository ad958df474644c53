package io.tandem.edge.inference;

import io.micrometer.core.instrument.MeterRegistry;
import io.tandem.edge.config.ConcurrencyProperties;
import io.tandem.edge.config.ModelProperties;
import io.tandem.model.engine.Engine;
import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.GraphStore;
import io.tandem.model.engine.ModelTokenizer;
import io.tandem.model.export.ExportedModel;
import io.tandem.model.tokenizer.Llama2cTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
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
        if (properties.path() != null && Files.isDirectory(properties.path())) {
            return exported(properties);
        }
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
        GraphStore store = GraphStore.cachedIfWritable(properties.cacheDir());
        Engine engine = Engine.open(loaded, options, store);
        long loaded_ = System.nanoTime();
        if (properties.warmupTokens() > 0) {
            engine.generate(new GenerationRequest(loaded.encodePrompt("Once"), properties.warmupTokens(), List.of(),
                    SamplingParams.greedy()));
        }
        long warm = System.nanoTime();
        // the model's own chat template (a GGUF file's tokenizer.chat_template), else plain text
        ServedModel served = new ServedModel(loaded.name(), loaded.tokenizer(), loaded.tokenizer().chatTemplate(),
                loaded.weights().config(), engine.manifests());
        log.info("model {} ready: {} layers, {} precision, {} flavour; loaded in {} ms ({} graphs built, {}), "
                        + "warmed up in {} ms", served.id(), served.config().layers(), options.precision().label(),
                options.flavour().label(), (loaded_ - start) / 1_000_000, store.builds(),
                store.cacheDirectory() == null ? "no graph cache" : "graph cache " + store.cacheDirectory(),
                (warm - loaded_) / 1_000_000);
        // the split route's first layers, built on first use at whatever split point a request asks for
        Partitions partitions = new Partitions(loaded, options, store);
        return new WarmModel(served, engine, partitions, (loaded_ - start) / 1_000_000, (warm - loaded_) / 1_000_000);
    }

    /**
     * An exported folder ({@code bin/tandem export}): its graphs are opened as they are, after every file was
     * checked against the sha256 its index recorded (a changed file stops the start-up, named). The export's
     * precision and flavour apply. Other layer ranges (a split at another point, an int4 or early-exit draft)
     * cannot be built without the weights and fail, saying so, when asked for.
     */
    private WarmModel exported(ModelProperties properties) {
        long start = System.nanoTime();
        Path dir = properties.path();
        ExportedModel export;
        Llama2cTokenizer tokenizer;
        try {
            export = ExportedModel.open(dir);
            Optional<Llama2cTokenizer> own = export.tokenizer();
            if (own.isPresent()) {
                tokenizer = own.get();
            } else if (properties.tokenizer() != null) {
                tokenizer = Llama2cTokenizer.load(properties.tokenizer());
            } else {
                throw new IllegalStateException("tandem.model.path: the export " + dir + " holds no tokenizer (a GGUF "
                        + "model's is not exported); set tandem.model.tokenizer to its tokenizer.bin");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("tandem.model.path: cannot read the export " + dir + ": " + e.getMessage(), e);
        }
        var index = export.index();
        if (!index.precision().equals(properties.weights()) || !index.flavour().equals(properties.flavour())) {
            log.warn("serving the export's {} {} graphs; tandem.model.weights={} and flavour={} do not apply to an export",
                    index.precision(), index.flavour(), properties.weights(), properties.flavour());
        }
        RuntimeOptions runtime = new RuntimeOptions(properties.threads(), properties.providers(), properties.sessionConfig(), true);
        EngineOptions options = new EngineOptions(WeightPrecision.parse(index.precision()),
                GraphFlavour.parse(index.flavour()), 0, runtime,
                io.tandem.model.onnx.ActivationPrecision.parse(export.manifests().getFirst().activations()));
        Engine engine = export.start(runtime, tokenizer);
        try {
            return servedExport(properties, dir, export, tokenizer, options, engine, start);
        } catch (RuntimeException | Error e) {
            engine.close();
            throw e;
        }
    }

    private WarmModel servedExport(ModelProperties properties, Path dir, ExportedModel export, Llama2cTokenizer tokenizer,
                                   EngineOptions options, Engine engine, long start) {
        var index = export.index();
        ModelTokenizer modelTokenizer = new ModelTokenizer.Llama2c(tokenizer);
        LoadedModel stand = LoadedModel.withoutWeights(index.modelName(), export.config(), index.sourceFormat(),
                index.sourceSha256(), modelTokenizer, "the model is served from the exported graphs in " + dir
                        + ", which hold no weights to build other layer ranges from; serve the model file for that");
        long opened = System.nanoTime();
        if (properties.warmupTokens() > 0) {
            engine.generate(new GenerationRequest(stand.encodePrompt("Once"), properties.warmupTokens(), List.of(),
                    SamplingParams.greedy()));
        }
        long warm = System.nanoTime();
        ServedModel served = new ServedModel(stand.name(), modelTokenizer, modelTokenizer.chatTemplate(), export.config(),
                engine.manifests());
        log.info("model {} ready from the export {}: {} layers, {} precision, {} flavour; opened in {} ms, warmed up in {} ms",
                served.id(), dir, served.config().layers(), index.precision(), index.flavour(),
                (opened - start) / 1_000_000, (warm - opened) / 1_000_000);
        Partitions partitions = new Partitions(stand, options);
        return new WarmModel(served, engine, partitions, (opened - start) / 1_000_000, (warm - opened) / 1_000_000);
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
