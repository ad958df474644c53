package io.tandem.model.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.runtime.BatchedRunner;
import io.tandem.model.runtime.BatchedSequence;
import io.tandem.model.runtime.KvSequence;
import io.tandem.model.runtime.RuntimeOptions;
import io.tandem.model.runtime.StageInput;
import io.tandem.model.runtime.StageOutput;
import io.tandem.model.sampling.Sampler;
import io.tandem.model.sampling.SamplingParams;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The embedded stories260K (head size 8: the masked standard-operator kernel) decoding greedy
 * answers for several sessions at once through one batched runner, whole and with the first layers
 * on an unbatched head as a split edge runs them: every session gives llama2.c's golden ids,
 * although sessions start at different steps, have prompts of different lengths (prefilled alone,
 * in chunks of 3) and finish at different steps.
 */
class BatchedGoldenTest {

    /** One greedy session: its prompt, the golden ids, its sequences, and the ids so far. */
    static final class Session {
        final int[] golden;
        final int promptLength;
        final int joinsAt;
        final List<Integer> ids = new ArrayList<>();
        KvSequence head;
        BatchedSequence tail;

        Session(int[] golden, int promptLength, int joinsAt) {
            this.golden = golden;
            this.promptLength = promptLength;
            this.joinsAt = joinsAt;
        }

        boolean done() {
            return ids.size() == golden.length;
        }
    }

    @ParameterizedTest(name = "{0} split {1}")
    @CsvSource({"FAST,0", "PORTABLE,0", "FAST,2", "PORTABLE,4"})
    void everySessionGivesItsGoldenIds(GraphFlavour flavour, int split) {
        LoadedModel model = LoadedModel.embedded();
        EngineOptions options = new EngineOptions(WeightPrecision.FP32, flavour, 0, RuntimeOptions.threads(1));
        try (Partitions partitions = new Partitions(model, options)) {
            int layers = partitions.config().layers();
            Partitions.BatchedRange tailRange = partitions.batchedRange(split, layers, 8);
            assertThat(tailRange.manifest().attentionKernel()).isEqualTo(flavour == GraphFlavour.FAST
                    ? "rotary_embedding" : "standard_ops");
            BatchedRunner runner = tailRange.runner();
            List<Session> sessions = new ArrayList<>();
            // 120 ids of the BOS golden keep the test short; the prompt goldens run until run.c stopped
            sessions.add(new Session(Arrays.copyOf(Goldens.greedyFromBos(), 120), 1, 0));
            int joins = 1;
            for (Goldens.PromptGolden golden : Goldens.prompts()) {
                int[] prompt = model.encodePrompt(golden.prompt());
                sessions.add(new Session(Arrays.copyOf(golden.ids(), Math.min(golden.ids().length, prompt.length + 90)),
                        prompt.length, joins));
                joins += 7;
            }
            Sampler greedy = new Sampler(SamplingParams.greedy(), partitions.config().vocabSize());
            int batchedSteps = 0;
            for (int step = 0; sessions.stream().anyMatch(s -> !s.done()); step++) {
                List<BatchedRunner.Row> rows = new ArrayList<>();
                List<Session> inBatch = new ArrayList<>();
                for (Session s : sessions) {
                    if (step == s.joinsAt) {
                        s.head = split == 0 ? null : partitions.range(0, split).session().newSequence();
                        s.tail = runner.newSequence();
                        for (int i = 0; i < s.promptLength; i++) {
                            s.ids.add(s.golden[i]);
                        }
                        for (int at = 0; at < s.promptLength; at += 3) {
                            long[] chunk = new long[Math.min(3, s.promptLength - at)];
                            for (int j = 0; j < chunk.length; j++) {
                                chunk[j] = s.golden[at + j];
                            }
                            runner.run(List.of(new BatchedRunner.Row(s.tail, input(s, chunk))));
                        }
                        s.ids.add(greedy.sample(s.tail.logits()).token());
                    } else if (step > s.joinsAt && !s.done()) {
                        rows.add(new BatchedRunner.Row(s.tail, input(s, new long[] {s.ids.getLast()})));
                        inBatch.add(s);
                    }
                }
                runner.run(rows);
                batchedSteps += rows.size() > 1 ? 1 : 0;
                for (Session s : inBatch) {
                    s.ids.add(greedy.sample(s.tail.logits()).token());
                }
                for (Session s : sessions) {
                    if (s.done() && s.tail != null) {
                        s.tail.close();
                        if (s.head != null) {
                            s.head.close();
                        }
                        s.tail = null;
                    }
                }
            }
            assertThat(batchedSteps).isGreaterThan(50);
            for (Session s : sessions) {
                assertThat(s.ids).containsExactly(Arrays.stream(s.golden).boxed().toArray(Integer[]::new));
            }
        }
    }

    private static StageInput input(Session s, long[] ids) {
        if (s.head == null) {
            return new StageInput.Tokens(ids);
        }
        StageOutput.Hidden hidden = (StageOutput.Hidden) s.head.run(new StageInput.Tokens(ids));
        ByteBuffer copy = ByteBuffer.allocate(hidden.bytes().remaining());
        copy.put(hidden.bytes().duplicate()).flip();
        return new StageInput.Hidden(copy, hidden.positions());
    }
}
