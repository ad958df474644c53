package io.tandem.model.constrain;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.model.engine.Engine;
import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.generate.GenerationListener;
import io.tandem.model.generate.GenerationRequest;
import io.tandem.model.sampling.LogitRules;
import io.tandem.model.sampling.SamplingParams;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class ConstrainedDecodingTest {

    static final String SCHEMA = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":24},"
            + "\"age\":{\"type\":\"integer\"},\"pet\":{\"type\":\"object\",\"properties\":{\"kind\":{\"enum\":[\"cat\",\"dog\"]}},"
            + "\"required\":[\"kind\"]}},\"required\":[\"name\",\"age\",\"pet\"]}";

    @Test
    void theMatcherAcceptsExactlyTheSchemasLanguage() {
        Shape shape = OutputConstraint.jsonSchema(SCHEMA).shape();
        JsonMatcher.State start = JsonMatcher.State.start(shape);
        assertThat(start.feed(bytes("{\"name\":\"Tim\",\"age\":3,\"pet\":{\"kind\":\"dog\"}}")).complete()).isTrue();
        assertThat(start.feed(bytes("{\"age\":-30,\"pet\":{\"kind\":\"cat\"},\"name\":\"\\u00e9\"}")).complete()).isTrue();
        assertThat(start.feed(bytes("{\"name\":\"Tim\",\"age\":3.5")).dead()).isTrue();
        assertThat(start.feed(bytes("{\"name\":\"Tim\",\"age\":3,\"pet\":{\"kind\":\"cow")).dead()).isTrue();
        assertThat(start.feed(bytes("{\"name\":\"Tim\",\"age\":3}")).dead()).isTrue();
        assertThat(start.feed(bytes("{\"nam\":")).dead()).isTrue();
        assertThat(start.feed(bytes("{\"name\":\"" + "x".repeat(25))).dead()).isTrue();
        assertThat(start.feed(bytes("{\"name\":\"Tim\",\"name\":")).dead()).isTrue();
        JsonMatcher.State any = JsonMatcher.State.start(OutputConstraint.jsonObject().shape());
        assertThat(any.feed(bytes("{\"a\":[1,{\"b\":null},\"x\"],\"c\":-0.5e+3}")).complete()).isTrue();
        assertThat(any.feed(bytes("{\"a\":01")).dead()).isTrue();
        assertThat(start.minBytes()).isEqualTo(bytes("{\"name\":\"\",\"age\":0,\"pet\":{\"kind\":\"cat\"}}").length);
    }

    @Test
    void sampledOutputAlwaysParsesAndFollowsTheSchema() {
        LoadedModel model = LoadedModel.embedded();
        ConstrainedVocabulary vocabulary = model.tokenizer().constrainedVocabulary();
        OutputConstraint constraint = OutputConstraint.jsonSchema(SCHEMA);
        JsonMapper json = JsonMapper.builder().build();
        try (Engine engine = Engine.open(model, EngineOptions.defaults())) {
            long start = System.nanoTime();
            for (int seed = 0; seed < 20; seed++) {
                var request = new GenerationRequest(model.encodePrompt("Once upon a time"), 60, List.of(),
                        new SamplingParams(1f, 1f, 0, OptionalLong.of(seed)), LogitRules.NONE, constraint,
                        vocabulary.compile(constraint), 0);
                String text = engine.generate(request, GenerationListener.NONE, () -> false).text();
                JsonNode parsed = json.readTree(text);
                assertThat(parsed.get("pet").get("kind").asString()).as(text).isIn("cat", "dog");
                assertThat(parsed.get("age").isIntegralNumber()).as(text).isTrue();
                assertThat(parsed.get("name").asString().codePointCount(0, parsed.get("name").asString().length()))
                        .isLessThanOrEqualTo(24);
            }
            System.out.printf("20 constrained generations in %.1f ms%n", (System.nanoTime() - start) / 1e6);
        }
    }

    /** A limit barely above the shortest document: every answer still ends as a whole document within it. */
    @Test
    void aTightTokenLimitStillEndsInAWholeDocument() {
        String schema = "{\"type\":\"object\",\"properties\":{\"age\":{\"type\":\"integer\"},\"pet\":{\"type\":\"object\","
                + "\"properties\":{\"kind\":{\"enum\":[\"cat\",\"dog\"]},\"legs\":{\"type\":\"integer\"}},\"required\":[\"kind\","
                + "\"legs\"]},\"name\":{\"type\":\"string\",\"maxLength\":20},\"friends\":{\"type\":\"array\",\"items\":"
                + "{\"type\":\"string\"},\"maxItems\":2}},\"required\":[\"age\",\"pet\",\"name\",\"friends\"]}";
        LoadedModel model = LoadedModel.embedded();
        ConstrainedVocabulary vocabulary = model.tokenizer().constrainedVocabulary();
        OutputConstraint constraint = OutputConstraint.jsonSchema(schema);
        JsonMapper json = JsonMapper.builder().build();
        try (Engine engine = Engine.open(model, EngineOptions.defaults())) {
            int minimum = vocabulary.compile(constraint).minimumTokens();
            assertThat(minimum).isBetween(20, 60);
            for (int limit : new int[] {minimum, minimum + 5, 60}) {
                for (int seed = 0; seed < 10; seed++) {
                    var request = new GenerationRequest(model.encodePrompt("Once upon a time"), limit, List.of(),
                            new SamplingParams(1f, 1f, 0, OptionalLong.of(seed)), LogitRules.NONE, constraint,
                            vocabulary.compile(constraint), 0);
                    var result = engine.generate(request, GenerationListener.NONE, () -> false);
                    JsonNode parsed;
                    try {
                        parsed = json.readTree(result.text());
                    } catch (tools.jackson.core.JacksonException e) {
                        throw new AssertionError("limit " + limit + " seed " + seed + " (" + result.tokens().size() + " tokens, "
                                + result.finishReason() + "): " + result.text(), e);
                    }
                    assertThat(parsed.get("pet").get("legs").isIntegralNumber()).as("limit %d seed %d: %s", limit, seed,
                            result.text()).isTrue();
                    assertThat(result.tokens()).hasSizeLessThanOrEqualTo(limit);
                }
            }
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
