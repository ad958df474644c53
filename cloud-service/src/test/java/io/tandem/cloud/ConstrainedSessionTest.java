package io.tandem.cloud;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.model.constrain.OutputConstraint;
import io.tandem.model.engine.Engine;
import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.engine.Partitions;
import io.tandem.model.generate.GenerationListener;
import io.tandem.model.generate.GenerationRequest;
import io.tandem.model.sampling.LogitRules;
import io.tandem.model.sampling.SamplingParams;
import io.tandem.model.wire.Envelope;
import io.tandem.model.wire.Frame;
import io.tandem.model.wire.Mode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/**
 * The Decoding frame: the cloud masks its own choices with the constraint and applies the logit rules,
 * so a FULL-mode session chooses exactly the tokens the device's engine chooses with the same seed,
 * and its output is a whole document of the schema.
 */
@CloudTest
class ConstrainedSessionTest extends CloudTestBase {

    static final String SCHEMA = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":12},"
            + "\"age\":{\"type\":\"integer\"},\"pet\":{\"enum\":[\"cat\",\"dog\"]}},\"required\":[\"name\",\"age\",\"pet\"]}";
    static final int MAX_TOKENS = 40;

    @Test
    void theCloudChoosesWhatTheDeviceWouldUnderTheSameConstraintAndRules() throws Exception {
        LoadedModel model = LoadedModel.embedded();
        OutputConstraint constraint = OutputConstraint.jsonSchema(SCHEMA);
        LogitRules rules = new LogitRules(Map.of(13, -3f), 0.3f, 0.2f);
        int[] prompt = model.encodePrompt("Once upon a time");
        var vocabulary = model.tokenizer().constrainedVocabulary();
        try (Partitions partitions = new Partitions(model, EngineOptions.defaults());
             Engine engine = Engine.open(model, EngineOptions.defaults());
             AgentTestClient client = connect("kiosk-constrained")) {
            String modelHash = partitions.modelHash();
            for (int run = 0; run < 10; run++) {
                int seed = run % 5;
                Mode mode = run < 5 ? Mode.FULL : Mode.split(2);
                io.tandem.model.runtime.KvSequence head = mode instanceof Mode.Split
                        ? partitions.range(0, 2).session().newSequence() : null;
                SamplingParams sampling = new SamplingParams(1f, 1f, 0, OptionalLong.of(seed));
                var local = engine.generate(new GenerationRequest(prompt, MAX_TOKENS, List.of(), sampling, rules, constraint,
                        vocabulary.compile(constraint), 0), GenerationListener.NONE, () -> false);
                long session = 500 + run;
                long[] sequence = {0};
                client.send(session, sequence[0]++, new Frame.Open(modelHash, mode, sampling, MAX_TOKENS));
                client.send(session, sequence[0]++, new Frame.Decoding(rules, Optional.of(constraint), new int[0]));
                java.util.function.BiConsumer<Integer, int[]> feed = (start, ids) -> {
                    if (head == null) {
                        client.send(session, sequence[0]++, new Frame.Tokens(start, ids));
                    } else {
                        var hidden = (io.tandem.model.runtime.StageOutput.Hidden) head.run(
                                new io.tandem.model.runtime.StageInput.Tokens(java.util.Arrays.stream(ids).asLongStream().toArray()));
                        var floats = hidden.bytes().duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
                        float[] values = new float[floats.remaining()];
                        floats.get(values);
                        client.send(session, sequence[0]++, io.tandem.model.wire.ActivationCodec.encode(start, values, ids.length,
                                model.weights().config().dim(), io.tandem.model.wire.Codec.FP32));
                    }
                };
                feed.accept(0, prompt);
                assertThat(client.receive().frame()).isInstanceOf(Frame.Opened.class);
                List<Integer> ids = new ArrayList<>();
                int position = prompt.length;
                boolean finished = false;
                while (true) {
                    Envelope e = client.receive();
                    assertThat(e.frame()).as("seed %d", seed).isInstanceOf(Frame.Token.class);
                    Frame.Token token = (Frame.Token) e.frame();
                    finished = token.finishReason().isPresent();
                    if (model.endTokens().contains(token.id())) {
                        break;
                    }
                    ids.add(token.id());
                    if (finished) {
                        break;
                    }
                    feed.accept(position++, new int[] {token.id()});
                }
                String text = model.tokenizer() instanceof io.tandem.model.engine.ModelTokenizer.Llama2c l
                        ? l.tokenizer().decode(prompt[prompt.length - 1], ids.stream().mapToInt(Integer::intValue).toArray())
                        : "";
                assertThat(new tools.jackson.databind.ObjectMapper().readTree(text).get("pet").asString())
                        .as("%s seed %d: %s", mode, seed, text).isIn("cat", "dog");
                if (mode == Mode.FULL) {
                    assertThat(ids).as("seed %d", seed).containsExactlyElementsOf(
                            java.util.Arrays.stream(local.generatedIds()).boxed().toList());
                }
                if (!finished) {
                    client.send(session, sequence[0], new Frame.Cancel());
                    assertThat(client.receive().frame()).isEqualTo(new Frame.Close());
                }
                if (head != null) {
                    head.close();
                }
            }
        }
    }

    /**
     * An escalation hands an answer over part-way: the Decoding frame replays the tokens it already has
     * through the penalties and the constraint, so the cloud's greedy continuation is exactly the rest of
     * the device's own answer.
     */
    @Test
    void aReplayedAnswerContinuesAsTheDeviceWould() throws Exception {
        LoadedModel model = LoadedModel.embedded();
        OutputConstraint constraint = OutputConstraint.jsonSchema(SCHEMA);
        LogitRules rules = new LogitRules(Map.of(), 0.4f, 0.3f);
        int[] prompt = model.encodePrompt("Once upon a time");
        var vocabulary = model.tokenizer().constrainedVocabulary();
        try (Partitions partitions = new Partitions(model, EngineOptions.defaults());
             Engine engine = Engine.open(model, EngineOptions.defaults());
             AgentTestClient client = connect("kiosk-replay")) {
            var local = engine.generate(new GenerationRequest(prompt, MAX_TOKENS, List.of(), SamplingParams.greedy(), rules,
                    constraint, vocabulary.compile(constraint), 0), GenerationListener.NONE, () -> false);
            int[] answer = local.generatedIds();
            int handedOver = 9;
            assertThat(answer.length).isGreaterThan(handedOver + 3);
            int[] first = java.util.Arrays.copyOf(prompt, prompt.length + handedOver);
            System.arraycopy(answer, 0, first, prompt.length, handedOver);
            long session = 900;
            long sequence = 0;
            client.send(session, sequence++, new Frame.Open(partitions.modelHash(), Mode.FULL, SamplingParams.greedy(),
                    MAX_TOKENS - handedOver));
            client.send(session, sequence++, new Frame.Decoding(rules, Optional.of(constraint),
                    java.util.Arrays.copyOf(answer, handedOver)));
            client.send(session, sequence++, new Frame.Tokens(0, first));
            assertThat(client.receive().frame()).isInstanceOf(Frame.Opened.class);
            List<Integer> rest = new ArrayList<>();
            int position = first.length;
            while (true) {
                Frame.Token token = (Frame.Token) client.receive().frame();
                if (model.endTokens().contains(token.id())) {
                    break;
                }
                rest.add(token.id());
                if (token.finishReason().isPresent()) {
                    break;
                }
                client.send(session, sequence++, new Frame.Tokens(position++, new int[] {token.id()}));
            }
            assertThat(rest).containsExactlyElementsOf(java.util.Arrays.stream(answer, handedOver, answer.length).boxed().toList());
        }
    }
}
