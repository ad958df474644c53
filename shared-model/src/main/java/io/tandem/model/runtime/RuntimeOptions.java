package io.tandem.model.runtime;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How ONNX Runtime sessions run: intra-op threads (0 lets ONNX Runtime choose), the execution
 * providers to try in order before the CPU, e.g. {@code ["cuda"]} or {@code ["xnnpack"]}, and extra
 * session configuration entries ({@code session.intra_op.allow_spinning} and the like) that are
 * applied after Tandem's own defaults and so override them. {@code sharedKvCache} lets graphs
 * that support it keep each sequence's KV cache in one preallocated buffer that ONNX Runtime
 * writes in place (see {@link KvSequence}); off, every step returns a new, longer cache.
 */
public record RuntimeOptions(int intraOpThreads, List<String> executionProviders, Map<String, String> sessionConfig,
                             boolean sharedKvCache) {

    public static final List<String> KNOWN_PROVIDERS =
            List.of("cpu", "cuda", "tensorrt", "dnnl", "openvino", "xnnpack", "qnn", "coreml", "nnapi", "acl", "rocm");

    public RuntimeOptions {
        if (intraOpThreads < 0) {
            throw new IllegalArgumentException("intraOpThreads must be 0 (automatic) or positive, was " + intraOpThreads);
        }
        executionProviders = executionProviders.stream().map(p -> p.trim().toLowerCase(Locale.ROOT)).toList();
        for (String p : executionProviders) {
            if (!KNOWN_PROVIDERS.contains(p)) {
                throw new IllegalArgumentException("unknown execution provider '" + p + "': expected one of " + KNOWN_PROVIDERS);
            }
        }
        for (Map.Entry<String, String> e : sessionConfig.entrySet()) {
            if (e.getKey() == null || e.getKey().isBlank() || e.getValue() == null) {
                throw new IllegalArgumentException("session config entry '" + e.getKey() + "' needs a name and a value");
            }
        }
        sessionConfig = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(sessionConfig));
    }

    public RuntimeOptions(int intraOpThreads, List<String> executionProviders) {
        this(intraOpThreads, executionProviders, Map.of(), true);
    }

    public static RuntimeOptions defaults() {
        return new RuntimeOptions(0, List.of());
    }

    public static RuntimeOptions threads(int threads) {
        return new RuntimeOptions(threads, List.of());
    }

    /** These options with {@code key=value} added to (or replacing one in) the session configuration. */
    public RuntimeOptions withSessionConfig(String key, String value) {
        Map<String, String> entries = new LinkedHashMap<>(sessionConfig);
        entries.put(key, value);
        return new RuntimeOptions(intraOpThreads, executionProviders, entries, sharedKvCache);
    }

    /** These options with the shared, preallocated KV cache on or off. */
    public RuntimeOptions withSharedKvCache(boolean shared) {
        return new RuntimeOptions(intraOpThreads, executionProviders, sessionConfig, shared);
    }
}
