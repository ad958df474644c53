package io.tandem.model.manifest;

import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.onnx.DecoderOps;
import io.tandem.model.onnx.GraphNames;
import io.tandem.model.onnx.GraphSpec;
import io.tandem.model.onnx.GraphVersion;
import io.tandem.model.onnx.OnnxModel;
import io.tandem.model.onnx.WeightPrecision;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * Everything needed to rebuild one graph exactly and to tell whether two partitions belong
 * together: the source weights (sha256 and format), the architecture, the layer range, precision
 * and quantization, flavour, builder version and the graph's own hash. {@code sourceConversions}
 * says what each stored tensor type of a quantized source (GGUF) went through on its way into the
 * graph, e.g. {@code "Q4_0 -> int4, stored blocks used as they are: 168 projections"}; it is empty
 * for fp32 sources and absent from manifests written before it existed.
 */
public record ModelManifest(
        int manifestVersion,
        String modelName,
        String sourceFormat,
        String sourceSha256,
        LlamaConfig architecture,
        int firstLayer,
        int endLayer,
        String input,
        String output,
        boolean allPositionLogits,
        String precision,
        String activations,
        Quantization quantization,
        String flavour,
        String attentionKernel,
        String builderVersion,
        int onnxOpset,
        String graphSha256,
        List<String> sourceConversions) {

    public ModelManifest {
        sourceConversions = sourceConversions == null ? List.of() : List.copyOf(sourceConversions);
    }

    public static final int VERSION = 1;
    private static final JsonMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    /** How projection weights were quantized; null for fp32. */
    public record Quantization(int bits, int blockSize, int zeroPoint, String scheme) {
    }

    public static ModelManifest of(String modelName, String sourceFormat, String sourceSha256, LlamaConfig config,
                                   GraphSpec spec, OnnxModel graph) {
        return of(modelName, sourceFormat, sourceSha256, config, spec, graph, List.of());
    }

    public static ModelManifest of(String modelName, String sourceFormat, String sourceSha256, LlamaConfig config,
                                   GraphSpec spec, OnnxModel graph, List<String> sourceConversions) {
        WeightPrecision p = spec.precision();
        Quantization q = p.quantized()
                ? new Quantization(p.bits(), WeightPrecision.BLOCK_SIZE, p.zeroPoint(), p == WeightPrecision.INT4
                        ? "per block of 32 input features: the value of largest magnitude maps to code 0 (as GGUF Q4_0)"
                        : "per block of 32 input features: symmetric absmax, codes 1..255 around 128")
                : null;
        return new ModelManifest(VERSION, modelName, sourceFormat, sourceSha256, config,
                spec.firstLayer(), spec.endLayer(),
                spec.takesTokenIds() ? GraphNames.INPUT_IDS : GraphNames.HIDDEN_IN,
                spec.endsWithLogits(config) ? GraphNames.LOGITS : GraphNames.HIDDEN_OUT,
                spec.allPositionLogits(), p.label(), spec.activations().label(), q, spec.flavour().label(),
                DecoderOps.attentionKernel(spec.flavour(), config).name().toLowerCase(java.util.Locale.ROOT),
                GraphVersion.BUILDER_VERSION, OnnxModel.ONNX_OPSET, graph.sha256(), sourceConversions);
    }

    /**
     * Refuses a partition that does not continue {@code previous}: a different source model or
     * architecture, or a layer range that does not start where the previous one ended.
     */
    public void requireContinues(ModelManifest previous) {
        if (!sourceSha256.equals(previous.sourceSha256)) {
            throw new ManifestMismatchException("partitions come from different weights: "
                    + previous.sourceSha256 + " then " + sourceSha256);
        }
        if (!architecture.equals(previous.architecture)) {
            throw new ManifestMismatchException("partitions describe different architectures");
        }
        if (previous.endLayer != firstLayer) {
            throw new ManifestMismatchException("layers " + previous.firstLayer + ".." + previous.endLayer
                    + " cannot be followed by layers " + firstLayer + ".." + endLayer);
        }
    }

    public String toJson() {
        return JSON.writeValueAsString(this);
    }

    public static ModelManifest fromJson(String json) {
        try {
            ModelManifest m = JSON.readValue(json, ModelManifest.class);
            if (m.manifestVersion != VERSION) {
                throw new ManifestMismatchException("manifest version " + m.manifestVersion + " is not supported (expected " + VERSION + ")");
            }
            return m;
        } catch (JacksonException e) {
            throw new ManifestMismatchException("not a valid model manifest: " + e.getOriginalMessage());
        }
    }

    public static ModelManifest read(Path file) throws IOException {
        try {
            return fromJson(Files.readString(file));
        } catch (ManifestMismatchException e) {
            throw new ManifestMismatchException(file + ": " + e.getMessage());
        }
    }
}
