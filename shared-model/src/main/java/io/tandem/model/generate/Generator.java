package io.tandem.model.generate;

import io.tandem.model.sampling.TokenChoice;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;

/**
 * The generation loop: prefill the prompt in one forward pass, then decode one token per step
 * until an end-of-sequence token, a stop string, the token limit, the end of the context, or
 * cancellation. Each token is handed to a listener as it is produced.
 */
public final class Generator {

    private final TokenText tokenText;
    private final Set<Integer> endTokens;
    private final int contextLength;
    private final int vocabSize;

    /**
     * @param endTokens ids that end a sequence (llama2.c models end a story with BOS, others use EOS)
     */
    public Generator(TokenText tokenText, Set<Integer> endTokens, int contextLength, int vocabSize) {
        this.tokenText = tokenText;
        this.endTokens = Set.copyOf(endTokens);
        this.contextLength = contextLength;
        this.vocabSize = vocabSize;
    }

    /** Generates with tokens sampled here from {@code pipeline}'s logits; the pipeline stays open. */
    public GenerationResult generate(DecoderPipeline pipeline, GenerationRequest request,
                                     GenerationListener listener, BooleanSupplier cancelled) {
        TokenStepper local = new SamplingStepper(pipeline, request.newSampler(vocabSize));
        return generate(local, request, listener, cancelled);
    }

    /**
     * Generates with tokens chosen by {@code stepper}, which samples as it was set up to (the
     * request's sampling parameters are the stepper's to apply). The stepper stays open.
     */
    public GenerationResult generate(TokenStepper stepper, GenerationRequest request,
                                     GenerationListener listener, BooleanSupplier cancelled) {
        int[] prompt = request.promptIds();
        if (prompt.length >= contextLength) {
            throw new PromptTooLongException(prompt.length, contextLength);
        }
        for (int id : prompt) {
            if (id < 0 || id >= vocabSize) {
                throw new IllegalArgumentException("prompt token id " + id + " is outside the vocabulary of " + vocabSize);
            }
        }
        TokenText.Stream text = tokenText.open(prompt[prompt.length - 1]);
        StopStrings stops = new StopStrings(request.stopStrings());
        StringBuilder output = new StringBuilder();
        List<TokenChoice> tokens = new ArrayList<>();
        long[] next = new long[1];

        long start = System.nanoTime();
        long[] promptIds = new long[prompt.length];
        for (int i = 0; i < prompt.length; i++) {
            promptIds[i] = prompt[i];
        }
        FinishReason finish = null;
        if (cancelled.getAsBoolean()) {
            finish = FinishReason.CANCELLED;
        }
        TokenChoice choice = finish == null ? stepper.next(promptIds) : null;
        long prefillDone = System.nanoTime();
        while (finish == null) {
            if (endTokens.contains(choice.token())) {
                finish = FinishReason.END_OF_SEQUENCE;
                break;
            }
            tokens.add(choice);
            String released = stops.accept(text.feed(choice.token()));
            output.append(released);
            listener.onToken(new GeneratedToken(tokens.size() - 1, choice, released));
            if (stops.matched()) {
                finish = FinishReason.STOP_STRING;
            } else if (tokens.size() >= request.maxTokens()) {
                finish = FinishReason.MAX_TOKENS;
            } else if (stepper.length() >= contextLength) {
                finish = FinishReason.CONTEXT_FULL;
            } else if (cancelled.getAsBoolean()) {
                finish = FinishReason.CANCELLED;
            } else {
                next[0] = choice.token();
                choice = stepper.next(next);
            }
        }
        if (finish != FinishReason.STOP_STRING) {
            String tail = stops.accept(text.flush()) + stops.finish();
            output.append(tail);
            if (!tail.isEmpty()) {
                listener.onTrailingText(tail);
            }
        }
        long end = System.nanoTime();
        return new GenerationResult(prompt.clone(), List.copyOf(tokens), output.toString(), finish,
                prefillDone - start, end - prefillDone);
    }
}
