package io.tandem.model.runtime;

import java.util.List;
import java.util.Locale;

/**
 * How ONNX Runtime sessions run: intra-op threads (0 lets ONNX Runtime choose) and the execution
 * providers to try in order before the CPU, e.g. {@code ["cuda"]} or {@code ["xnnpack"]}.
 */
public record RuntimeOptions(int intraOpThreads, List<String> executionProviders) {

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
    }

    public static RuntimeOptions defaults() {
        return new RuntimeOptions(0, List.of());
    }

    public static RuntimeOptions threads(int threads) {
        return new RuntimeOptions(threads, List.of());
    }
}
