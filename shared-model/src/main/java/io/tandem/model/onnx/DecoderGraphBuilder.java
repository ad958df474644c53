package io.tandem.model.onnx;

import io.tandem.model.llama.LayerWeights;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.llama.LlamaWeights;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Builds the ONNX graph of a Llama-family decoder over a layer range {@code [a, b)}.
 *
 * <p>With {@code a = 0} the graph takes {@code input_ids}, otherwise {@code hidden_in}. With
 * {@code b = L} it ends with the final norm and the classifier ({@code logits}), otherwise it emits
 * the pre-norm residual stream ({@code hidden_out}). Every layer {@code i} in the range has inputs
 * {@code past_key.i}/{@code past_value.i} and outputs {@code present_key.i}/{@code present_value.i},
 * shaped {@code [1, kvHeads, tokens, headDim]}; positions and the causal mask derive from the past
 * length, so each partition is self-contained.
 */
public final class DecoderGraphBuilder {

    private DecoderGraphBuilder() {
    }

    public static OnnxModel build(LlamaWeights weights, GraphSpec spec) {
        return build(weights, spec, WeightSource.FP32);
    }

    /** A graph whose quantized weights come from {@code source}'s stored blocks where it has them in the graph's layout. */
    public static OnnxModel build(LlamaWeights weights, GraphSpec spec, WeightSource source) {
        LlamaConfig config = weights.config();
        spec.requireWithin(config);
        OnnxGraph g = new OnnxGraph("tandem_" + config.architecture() + "_" + spec.firstLayer() + "_" + spec.endLayer());
        DecoderOps ops = new DecoderOps(g, config, spec.precision(), spec.flavour(), spec.activations(), source);

        String residual = spec.takesTokenIds()
                ? ops.embed(g.input(GraphNames.INPUT_IDS, OnnxGraph.INT64, 1L, GraphNames.SEQUENCE), weights.tokenEmbedding())
                : g.input(GraphNames.HIDDEN_IN, OnnxGraph.FLOAT, 1L, GraphNames.SEQUENCE, (long) config.dim());

        Object[] pastShape = {1L, (long) config.kvHeads(), GraphNames.PAST, (long) config.headDim()};
        Object[] presentShape = {1L, (long) config.kvHeads(), GraphNames.TOTAL, (long) config.headDim()};
        String firstPastKey = GraphNames.pastKey(spec.firstLayer());
        DecoderOps.Positions positions = null;

        // The residual add of each block is deferred into the next norm so the fast flavour can fuse them.
        String pendingDelta = null;
        String normalized = null;
        for (int layer = spec.firstLayer(); layer < spec.endLayer(); layer++) {
            LayerWeights lw = weights.layers().get(layer);
            String pastKey = g.input(GraphNames.pastKey(layer), OnnxGraph.FLOAT, pastShape);
            String pastValue = g.input(GraphNames.pastValue(layer), OnnxGraph.FLOAT, pastShape);
            if (positions == null) {
                positions = ops.positions(residual, firstPastKey);
            }
            if (pendingDelta == null) {
                normalized = ops.rmsNorm(residual, lw.attentionNorm());
            } else {
                String[] out = ops.addAndNorm(pendingDelta, residual, lw.attentionNorm());
                normalized = out[0];
                residual = out[1];
            }
            String[] attention = ops.attention(normalized, lw, pastKey, pastValue, positions);
            g.output(attention[1], GraphNames.presentKey(layer), OnnxGraph.FLOAT, presentShape);
            g.output(attention[2], GraphNames.presentValue(layer), OnnxGraph.FLOAT, presentShape);
            String[] afterAttention = ops.addAndNorm(attention[0], residual, lw.ffnNorm());
            residual = afterAttention[1];
            pendingDelta = ops.feedForward(afterAttention[0], lw);
        }

        if (spec.endsWithLogits(config)) {
            String last = ops.addAndNorm(pendingDelta, residual, weights.finalNorm())[0];
            if (!spec.allPositionLogits()) {
                last = ops.lastPosition(last);
            }
            String logits = ops.linear(last, weights.classifierOrEmbedding());
            Object[] shape = spec.allPositionLogits()
                    ? new Object[] {1L, GraphNames.SEQUENCE, (long) config.vocabSize()}
                    : new Object[] {1L, (long) config.vocabSize()};
            g.output(logits, GraphNames.LOGITS, OnnxGraph.FLOAT, shape);
        } else {
            String hidden = g.op("Add", residual, pendingDelta);
            g.output(hidden, GraphNames.HIDDEN_OUT, OnnxGraph.FLOAT, 1L, GraphNames.SEQUENCE, (long) config.dim());
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("tandem.layers", spec.firstLayer() + ".." + spec.endLayer());
        metadata.put("tandem.precision", spec.precision().label());
        metadata.put("tandem.flavour", spec.flavour().label());
        metadata.put("tandem.activations", spec.activations().label());
        return new OnnxModel(g, metadata);
    }
}
