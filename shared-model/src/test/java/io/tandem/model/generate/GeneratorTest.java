package io.tandem.model.generate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import io.tandem.model.sampling.SamplingParams;
import org.junit.jupiter.api.Test;

/**
 * The generation loop's control flow, over a scripted pipeline whose logits put all weight on the
 * next token of a script; each token's text is its letter in the alphabet.
 */
class GeneratorTest {

    static final int VOCAB = 30;
    static final int END = 29;

    /** Emits the scripted tokens in order; records what it was fed. */
    static final class ScriptedPipeline implements DecoderPipeline {
        final int[] script;
        final List<long[]> fed = new ArrayList<>();
        int length;
        int emitted;
        boolean closed;

        ScriptedPipeline(int... script) {
            this.script = script;
        }

        @Override
        public FloatBuffer forward(long[] tokens) {
            fed.add(tokens.clone());
            length += tokens.length;
            float[] logits = new float[VOCAB];
            logits[script[emitted++]] = 10f;
            return FloatBuffer.wrap(logits);
        }

        @Override
        public int length() {
            return length;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    static final TokenText LETTERS = previous -> new TokenText.Stream() {
        @Override
        public String feed(int token) {
            return String.valueOf((char) ('a' + token));
        }

        @Override
        public String flush() {
            return "";
        }
    };

    static Generator generator(int context) {
        return new Generator(LETTERS, Set.of(END), context, VOCAB);
    }

    static GenerationRequest request(int maxTokens, String... stops) {
        return new GenerationRequest(new int[] {0, 1}, maxTokens, List.of(stops), SamplingParams.greedy());
    }

    @Test
    void prefillsOnceThenDecodesOneTokenPerStepUntilEnd() {
        ScriptedPipeline pipeline = new ScriptedPipeline(2, 3, 4, END);
        StringBuilder streamed = new StringBuilder();
        GenerationResult result = generator(100).generate(pipeline, request(10), GenerationListener.text(streamed::append), () -> false);
        assertThat(result.generatedIds()).containsExactly(2, 3, 4);
        assertThat(result.text()).isEqualTo("cde").isEqualTo(streamed.toString());
        assertThat(result.finishReason()).isEqualTo(FinishReason.END_OF_SEQUENCE);
        assertThat(pipeline.fed).containsExactly(new long[] {0, 1}, new long[] {2}, new long[] {3}, new long[] {4});
    }

    @Test
    void stopsAtMaxTokensWithoutAnExtraForwardPass() {
        ScriptedPipeline pipeline = new ScriptedPipeline(2, 3, 4, 5);
        GenerationResult result = generator(100).generate(pipeline, request(2), GenerationListener.NONE, () -> false);
        assertThat(result.generatedIds()).containsExactly(2, 3);
        assertThat(result.finishReason()).isEqualTo(FinishReason.MAX_TOKENS);
        assertThat(pipeline.fed).hasSize(2);
    }

    @Test
    void stopStringsEndTheTextAndAreNeverStreamed() {
        // letters c d e f g: stop at "ef"; "e" is held back until it is known to start the stop string
        ScriptedPipeline pipeline = new ScriptedPipeline(2, 3, 4, 5, 6, 7);
        List<String> pieces = new ArrayList<>();
        GenerationResult result = generator(100).generate(pipeline, request(10, "ef", "zz"),
                GenerationListener.text(pieces::add), () -> false);
        assertThat(result.text()).isEqualTo("cd");
        assertThat(String.join("", pieces)).isEqualTo("cd");
        assertThat(result.finishReason()).isEqualTo(FinishReason.STOP_STRING);
        assertThat(result.generatedIds()).containsExactly(2, 3, 4, 5);
    }

    @Test
    void heldBackTextIsReleasedWhenTheStopStringNeverCompletes() {
        ScriptedPipeline pipeline = new ScriptedPipeline(2, 3, END);
        List<String> pieces = new ArrayList<>();
        GenerationResult result = generator(100).generate(pipeline, request(10, "dx"), GenerationListener.text(pieces::add), () -> false);
        assertThat(result.text()).isEqualTo("cd");
        assertThat(String.join("", pieces)).isEqualTo("cd");
    }

    @Test
    void endsWhenTheContextIsFull() {
        ScriptedPipeline pipeline = new ScriptedPipeline(2, 3, 4, 5, 6, 7, 8);
        GenerationResult result = generator(5).generate(pipeline, request(100), GenerationListener.NONE, () -> false);
        // prompt 2 + fed tokens 2,3,4 fill 5 positions; token 5 is sampled from the last of them
        assertThat(result.generatedIds()).containsExactly(2, 3, 4, 5);
        assertThat(result.finishReason()).isEqualTo(FinishReason.CONTEXT_FULL);
    }

    @Test
    void cancellationStopsWithinOneToken() {
        ScriptedPipeline pipeline = new ScriptedPipeline(2, 3, 4, 5, 6, 7);
        AtomicInteger seen = new AtomicInteger();
        GenerationResult result = generator(100).generate(pipeline, request(100),
                token -> seen.incrementAndGet(), () -> seen.get() >= 3);
        assertThat(result.generatedIds()).containsExactly(2, 3, 4);
        assertThat(result.finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(pipeline.fed).hasSize(3);
    }

    @Test
    void badRequestsAreRefused() {
        assertThatThrownBy(() -> generator(2).generate(new ScriptedPipeline(2), request(5), GenerationListener.NONE, () -> false))
                .isInstanceOf(PromptTooLongException.class).hasMessageContaining("2 tokens long");
        assertThatThrownBy(() -> new GenerationRequest(new int[0], 5, List.of(), SamplingParams.greedy()))
                .hasMessageContaining("at least one token");
        assertThatThrownBy(() -> new GenerationRequest(new int[] {1}, 0, List.of(), SamplingParams.greedy()))
                .hasMessageContaining("max tokens");
        assertThatThrownBy(() -> new GenerationRequest(new int[] {1}, 5, List.of(""), SamplingParams.greedy()))
                .hasMessageContaining("stop strings");
        assertThatThrownBy(() -> generator(100).generate(new ScriptedPipeline(2),
                new GenerationRequest(new int[] {1, 99}, 5, List.of(), SamplingParams.greedy()), GenerationListener.NONE, () -> false))
                .hasMessageContaining("99");
    }
}
