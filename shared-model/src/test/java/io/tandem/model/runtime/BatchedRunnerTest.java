package io.tandem.model.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.llama.RandomWeights;
import io.tandem.model.llama.RopeLayout;
import io.tandem.model.onnx.DecoderGraphBuilder;
import io.tandem.model.onnx.DecoderOps.AttentionKernel;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.GraphSpec;
import io.tandem.model.onnx.WeightPrecision;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Batched steps against one-sequence steps of the same weights: sequences of different lengths,
 * rows joining and leaving between steps, prompts in chunks, on each attention kernel
 * (GroupQueryAttention at head size 16, the masked standard operators at head size 16 and 8, the
 * rotary contrib op at head size 8) and on a middle range fed hidden states. Every row's logits
 * must be within 1e-5 of its own unbatched run.
 */
class BatchedRunnerTest {

    static LlamaConfig config(int headDim, RopeLayout rope) {
        int heads = 4;
        return new LlamaConfig("llama", heads * headDim, 96, 3, heads, 2, 61, 48, 1e-5f, 10000f, rope, true, false);
    }

    /** Tokens of one sequence: the first {@code prompt} in chunks, then one per step, from step {@code joins} to {@code leaves}. */
    record Plan(int prompt, int joins, int leaves, long[] tokens) {
    }

    @ParameterizedTest(name = "{0} head size {1} {2} first layer {3}")
    @CsvSource({"FAST,16,ADJACENT_PAIRS,0,GROUP_QUERY_ATTENTION", "FAST,16,HALVES,1,GROUP_QUERY_ATTENTION",
                "PORTABLE,16,ADJACENT_PAIRS,0,STANDARD_OPS", "PORTABLE,8,HALVES,1,STANDARD_OPS",
                "FAST,8,ADJACENT_PAIRS,0,ROTARY_EMBEDDING", "FAST,8,HALVES,2,ROTARY_EMBEDDING"})
    void everyRowMatchesItsUnbatchedRun(GraphFlavour flavour, int headDim, RopeLayout rope, int firstLayer,
                                        AttentionKernel kernel) {
        LlamaConfig config = config(headDim, rope);
        LlamaWeights weights = RandomWeights.create(config, 7);
        GraphSpec whole = GraphSpec.whole(config, WeightPrecision.FP32, flavour);
        GraphSpec tail = whole.withRange(firstLayer, config.layers());
        SplittableRandom random = new SplittableRandom(3);
        List<Plan> plans = List.of(
                new Plan(5, 0, 12, tokens(random, config, 17)),
                new Plan(1, 0, 6, tokens(random, config, 7)),
                new Plan(9, 3, 12, tokens(random, config, 18)),
                new Plan(2, 5, 10, tokens(random, config, 7)),
                new Plan(13, 1, 9, tokens(random, config, 21)));
        try (GraphSession unbatched = GraphSession.open(DecoderGraphBuilder.build(weights, tail), tail, config,
                     RuntimeOptions.threads(1));
             GraphSession head = firstLayer == 0 ? null : GraphSession.open(
                     DecoderGraphBuilder.build(weights, whole.withRange(0, firstLayer)), whole.withRange(0, firstLayer),
                     config, RuntimeOptions.threads(1));
             BatchedRunner runner = BatchedRunner.open(DecoderGraphBuilder.buildBatched(weights, tail,
                     io.tandem.model.onnx.WeightSource.FP32), tail, config, RuntimeOptions.threads(1), 8)) {
            assertThat(runner.kernel()).isEqualTo(kernel);
            // the stage inputs of each sequence: token ids, or the head's hidden states for a middle range
            List<Function<long[], StageInput>> inputs = new ArrayList<>();
            List<KvSequence> heads = new ArrayList<>();
            for (int i = 0; i < plans.size(); i++) {
                KvSequence h = head == null ? null : head.newSequence();
                heads.add(h);
                inputs.add(ids -> h == null ? new StageInput.Tokens(ids) : hidden(h.run(new StageInput.Tokens(ids))));
            }
            List<KvSequence> references = new ArrayList<>();
            List<BatchedSequence> batched = new ArrayList<>();
            float worst = 0;
            int decodeSteps = 0;
            for (int step = 0; step <= 12; step++) {
                List<BatchedRunner.Row> rows = new ArrayList<>();
                List<float[]> expected = new ArrayList<>();
                for (int i = 0; i < plans.size(); i++) {
                    Plan plan = plans.get(i);
                    if (step == plan.joins()) {
                        KvSequence reference = unbatched.newSequence();
                        BatchedSequence sequence = runner.newSequence();
                        references.add(reference);
                        batched.add(sequence);
                        // the prompt in chunks of at most 4 positions, each chunk alone
                        for (int at = 0; at < plan.prompt(); at += 4) {
                            long[] chunk = java.util.Arrays.copyOfRange(plan.tokens(), at, Math.min(plan.prompt(), at + 4));
                            StageInput in = inputs.get(i).apply(chunk);
                            float[] want = logits(reference.run(in));
                            runner.run(List.of(new BatchedRunner.Row(sequence, in)));
                            worst = Math.max(worst, maxDiff(sequence.logits(), want));
                        }
                        assertThat(sequence.length()).isEqualTo(plan.prompt());
                    } else if (step > plan.joins() && step < plan.leaves()) {
                        int index = plans.indexOf(plan);
                        BatchedSequence sequence = batched.get(joinedIndex(plans, index));
                        KvSequence reference = references.get(joinedIndex(plans, index));
                        int position = sequence.length();
                        StageInput in = inputs.get(i).apply(new long[] {plan.tokens()[position]});
                        expected.add(logits(reference.run(in)));
                        rows.add(new BatchedRunner.Row(sequence, in));
                    } else if (step == plan.leaves()) {
                        batched.get(joinedIndex(plans, i)).close();
                    }
                }
                if (rows.size() > 1) {
                    decodeSteps++;
                }
                runner.run(rows);
                for (int r = 0; r < rows.size(); r++) {
                    worst = Math.max(worst, maxDiff(rows.get(r).sequence().logits(), expected.get(r)));
                }
            }
            assertThat(decodeSteps).as("steps that batched several rows").isGreaterThanOrEqualTo(8);
            assertThat(worst).isLessThanOrEqualTo(1e-5f);
            references.forEach(KvSequence::close);
            heads.forEach(h -> {
                if (h != null) {
                    h.close();
                }
            });
        }
    }

    @ParameterizedTest
    @CsvSource({"FAST", "PORTABLE"})
    void badBatchesAreRefused(GraphFlavour flavour) {
        LlamaConfig config = config(16, RopeLayout.ADJACENT_PAIRS);
        GraphSpec spec = GraphSpec.whole(config, WeightPrecision.FP32, flavour);
        LlamaWeights weights = RandomWeights.create(config, 1);
        try (BatchedRunner runner = BatchedRunner.open(DecoderGraphBuilder.buildBatched(weights, spec,
                io.tandem.model.onnx.WeightSource.FP32), spec, config, RuntimeOptions.threads(1), 2)) {
            BatchedSequence a = runner.newSequence();
            BatchedSequence b = runner.newSequence();
            BatchedSequence c = runner.newSequence();
            assertThatThrownBy(() -> runner.run(List.of(new BatchedRunner.Row(a, new StageInput.Tokens(new long[] {1, 2})),
                    new BatchedRunner.Row(b, new StageInput.Tokens(new long[] {3, 4})))))
                    .hasMessageContaining("prompts and multi-position steps run alone");
            runner.run(List.of(new BatchedRunner.Row(a, new StageInput.Tokens(new long[] {1, 2}))));
            runner.run(List.of(new BatchedRunner.Row(b, new StageInput.Tokens(new long[] {3}))));
            runner.run(List.of(new BatchedRunner.Row(c, new StageInput.Tokens(new long[] {3}))));
            assertThatThrownBy(() -> runner.run(List.of(new BatchedRunner.Row(a, new StageInput.Tokens(new long[] {1})),
                    new BatchedRunner.Row(a, new StageInput.Tokens(new long[] {2})))))
                    .hasMessageContaining("once");
            assertThatThrownBy(() -> runner.run(List.of(new BatchedRunner.Row(a, new StageInput.Tokens(new long[] {1})),
                    new BatchedRunner.Row(b, new StageInput.Tokens(new long[] {2})),
                    new BatchedRunner.Row(c, new StageInput.Tokens(new long[] {2})))))
                    .hasMessageContaining("exceed the batch limit of 2");
            assertThatThrownBy(() -> runner.run(List.of(new BatchedRunner.Row(a, new StageInput.Tokens(new long[] {99})))))
                    .hasMessageContaining("outside the vocabulary");
            assertThatThrownBy(() -> runner.run(List.of(new BatchedRunner.Row(a, new StageInput.Hidden(ByteBuffer.allocate(8), 1)))))
                    .hasMessageContaining("token ids");
            assertThat(a.length()).as("refused steps change nothing").isEqualTo(2);
            assertThatThrownBy(() -> runner.run(List.of(new BatchedRunner.Row(a,
                    new StageInput.Tokens(new long[config.contextLength()])))))
                    .isInstanceOf(ContextFullException.class);
            a.close();
            assertThatThrownBy(() -> runner.run(List.of(new BatchedRunner.Row(a, new StageInput.Tokens(new long[] {1})))))
                    .hasMessageContaining("closed");
        }
    }

    /** The index among sequences created so far: plans join in plan order within a step, earlier steps first. */
    private static int joinedIndex(List<Plan> plans, int index) {
        Plan plan = plans.get(index);
        int before = 0;
        for (int j = 0; j < plans.size(); j++) {
            Plan other = plans.get(j);
            if (other.joins() < plan.joins() || (other.joins() == plan.joins() && j < index)) {
                before++;
            }
        }
        return before;
    }

    private static long[] tokens(SplittableRandom random, LlamaConfig config, int count) {
        long[] ids = new long[count];
        for (int i = 0; i < count; i++) {
            ids[i] = random.nextInt(config.vocabSize());
        }
        return ids;
    }

    private static StageInput hidden(StageOutput output) {
        StageOutput.Hidden h = (StageOutput.Hidden) output;
        ByteBuffer copy = ByteBuffer.allocate(h.bytes().remaining());
        copy.put(h.bytes().duplicate()).flip();
        return new StageInput.Hidden(copy, h.positions());
    }

    private static float[] logits(StageOutput output) {
        FloatBuffer values = ((StageOutput.Logits) output).values();
        float[] out = new float[values.remaining()];
        values.duplicate().get(out);
        return out;
    }

    private static float maxDiff(FloatBuffer actual, float[] expected) {
        assertThat(actual.remaining()).isEqualTo(expected.length);
        float max = 0;
        for (int i = 0; i < expected.length; i++) {
            float a = actual.get(actual.position() + i);
            assertThat(Float.isFinite(a)).isTrue();
            max = Math.max(max, Math.abs(a - expected[i]));
        }
        return max;
    }
}
