package io.tandem.cloud.config;

import java.nio.file.Path;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * What the in-process pool serves and how it runs: the embedded default model (unless turned
 * off), any llama2.c checkpoints listed in {@code models}, the weight precision and flavour every
 * graph is built with, worker threads for session steps (0 = cores) and ONNX Runtime intra-op
 * threads per session (0 = automatic). {@code cacheDir}: where built graphs are kept between starts
 * (verified before use); unset, graphs are built at every start.
 */
@ConfigurationProperties("tandem.cloud.pool")
public record PoolProperties(Boolean embedded, List<ModelEntry> models, String weights, String flavour, int workers,
                             int threads, Batching batching, Path cacheDir) {

    /**
     * Batching of session steps: on by default. {@code maxBatch} rows per pass, a row waits at most
     * {@code maxWait} for others, prompts run in chunks of {@code prefillChunk} positions, and the
     * passes use {@code threads} ONNX Runtime intra-op threads (0 = ONNX Runtime's choice: the cores),
     * since one pass at a time carries every session.
     */
    public record Batching(Boolean enabled, Integer maxBatch, java.time.Duration maxWait, Integer prefillChunk,
                           Integer threads) {
        public Batching {
            enabled = enabled == null || enabled;
            maxBatch = maxBatch == null ? 16 : maxBatch;
            maxWait = maxWait == null ? java.time.Duration.ofMillis(2) : maxWait;
            prefillChunk = prefillChunk == null ? 64 : prefillChunk;
            threads = threads == null ? 0 : threads;
            if (threads < 0) {
                throw new IllegalArgumentException("tandem.cloud.pool.batching.threads must not be negative");
            }
        }

        public io.tandem.cloud.batch.BatchSettings settings() {
            return new io.tandem.cloud.batch.BatchSettings(maxBatch, maxWait, prefillChunk);
        }
    }

    /** A checkpoint to serve; {@code tokenizer} only matters for its vocabulary size check. */
    public record ModelEntry(Path path, Path tokenizer) {
        public ModelEntry {
            if (path == null) {
                throw new IllegalArgumentException("tandem.cloud.pool.models[].path is required");
            }
        }
    }

    public PoolProperties {
        embedded = embedded == null || embedded;
        models = models == null ? List.of() : List.copyOf(models);
        weights = weights == null ? "fp32" : weights;
        flavour = flavour == null ? "fast" : flavour;
        batching = batching == null ? new Batching(null, null, null, null, null) : batching;
        batching.settings();
        if (workers < 0 || threads < 0) {
            throw new IllegalArgumentException("tandem.cloud.pool.workers and threads must not be negative");
        }
        if (!embedded && models.isEmpty()) {
            throw new IllegalArgumentException("tandem.cloud.pool serves nothing: set embedded=true or list models");
        }
    }

    public int effectiveWorkers() {
        return workers == 0 ? Runtime.getRuntime().availableProcessors() : workers;
    }
}
