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

    /**
     * Metadata saying the graph takes the {@link GraphNames#PAST_LENGTH} input, so its past and
     * present may share one preallocated buffer.
     */
    public static final String KV_BUFFER_KEY = "tandem.kv_buffer";
    public static final String KV_BUFFER_SHARED = "shared";

    private DecoderGraphBuilder() {
    }

    public static OnnxModel build(LlamaWeights weights, GraphSpec spec) {
        return build(weights, spec, WeightSource.FP32);
    }

    /**
     * A graph for this process's sessions, whose quantized weights come from {@code source}'s stored
     * blocks where it has them in the graph's layout. With GroupQueryAttention it also takes
     * {@link GraphNames#PAST_LENGTH}, which {@link io.tandem.model.runtime.KvSequence} feeds to keep
     * its cache in one buffer written in place.
     */
    public static OnnxModel build(LlamaWeights weights, GraphSpec spec, WeightSource source) {
        return build(weights, spec, source, false, true, null);
    }

    /**
     * As {@link #build(LlamaWeights, GraphSpec, WeightSource)}, writing each large weight to {@code external}
     * as soon as it is made: the heap holds one weight at a time, whatever the model's size.
     */
    public static OnnxModel build(LlamaWeights weights, GraphSpec spec, WeightSource source, ExternalData external) {
        return build(weights, spec, source, false, true, external);
    }

    /** {@link #buildBatched(LlamaWeights, GraphSpec, WeightSource)} with its weights written to {@code external}. */
    public static OnnxModel buildBatched(LlamaWeights weights, GraphSpec spec, WeightSource source, ExternalData external) {
        return build(weights, spec, source, true, false, external);
    }

    /**
     * The same graph without {@link GraphNames#PAST_LENGTH}: the past's length is its shape, as a
     * server that feeds each present back as the next past (Triton's implicit state) needs.
     */
    public static OnnxModel buildForExport(LlamaWeights weights, GraphSpec spec, WeightSource source) {
        return build(weights, spec, source, false, false, null);
    }

    /**
     * The batched form of the same layers: every tensor has a dynamic first dimension (one row per
     * sequence) and an extra input {@code past_lengths} (int64 {@code [batch]}) gives each row's real
     * past length, so rows of different lengths share one pass. The past is right-padded to a common
     * length. With GroupQueryAttention the present has the past's padded shape and each row's new
     * keys at its own length; otherwise the new keys follow the common past
     * ({@link DecoderOps#batchedPositions}).
     */
    public static OnnxModel buildBatched(LlamaWeights weights, GraphSpec spec, WeightSource source) {
        return build(weights, spec, source, true, false, null);
    }

    private static OnnxModel build(LlamaWeights weights, GraphSpec spec, WeightSource source, boolean batched,
                                   boolean pastLengthInput, ExternalData external) {
        LlamaConfig config = weights.config();
        spec.requireWithin(config);
        OnnxGraph g = new OnnxGraph("tandem_" + config.architecture() + "_" + spec.firstLayer() + "_" + spec.endLayer()
                + (batched ? "_batched" : ""), external);
        DecoderOps ops = new DecoderOps(g, config, spec.precision(), spec.flavour(), spec.activations(), source);
        Object batch = 1L;
        boolean takesPastLength = pastLengthInput
                && DecoderOps.attentionKernel(spec.flavour(), config) == DecoderOps.AttentionKernel.GROUP_QUERY_ATTENTION;
        if (takesPastLength) {
            ops.withPastLengthInput();
        }
        if (batched) {
            ops.batched();
            batch = GraphNames.BATCH;
        }

        String residual = spec.takesTokenIds()
                ? ops.embed(g.input(GraphNames.INPUT_IDS, OnnxGraph.INT64, batch, GraphNames.SEQUENCE), weights.tokenEmbedding())
                : g.input(GraphNames.HIDDEN_IN, OnnxGraph.FLOAT, batch, GraphNames.SEQUENCE, (long) config.dim());
        String pastLengths = batched ? g.input(GraphNames.PAST_LENGTHS, OnnxGraph.INT64, batch) : null;

        Object[] pastShape = {batch, (long) config.kvHeads(), GraphNames.PAST, (long) config.headDim()};
        Object[] presentShape = {batch, (long) config.kvHeads(), GraphNames.TOTAL, (long) config.headDim()};
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
                positions = batched ? ops.batchedPositions(residual, pastLengths, firstPastKey)
                        : ops.positions(residual, firstPastKey);
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
                    ? new Object[] {batch, GraphNames.SEQUENCE, (long) config.vocabSize()}
                    : new Object[] {batch, (long) config.vocabSize()};
            g.output(logits, GraphNames.LOGITS, OnnxGraph.FLOAT, shape);
        } else {
            String hidden = g.op("Add", residual, pendingDelta);
            g.output(hidden, GraphNames.HIDDEN_OUT, OnnxGraph.FLOAT, batch, GraphNames.SEQUENCE, (long) config.dim());
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("tandem.layers", spec.firstLayer() + ".." + spec.endLayer());
        metadata.put("tandem.precision", spec.precision().label());
        metadata.put("tandem.flavour", spec.flavour().label());
        metadata.put("tandem.activations", spec.activations().label());
        if (takesPastLength) {
            metadata.put(KV_BUFFER_KEY, KV_BUFFER_SHARED);
        }
        if (batched) {
            metadata.put("tandem.batch", "dynamic");
            metadata.put("tandem.attention", DecoderOps.attentionKernel(spec.flavour(), config).name().toLowerCase(java.util.Locale.ROOT));
        }
        return new OnnxModel(g, metadata);
    }
}
