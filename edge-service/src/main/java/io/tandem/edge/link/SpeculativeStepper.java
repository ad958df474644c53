package io.tandem.edge.link;

import io.tandem.edge.routing.RouteOutcome;
import io.tandem.model.generate.TokenStepper;
import io.tandem.model.sampling.TokenChoice;
import io.tandem.model.wire.Frame;
import java.util.ArrayDeque;

/**
 * Speculative decoding over the link: after the prompt's lockstep prefill, each round the local
 * draft proposes gamma tokens, the cloud verifies them in one pass (with the edge's layers run over
 * the same positions first, in SPLIT mode) and answers how many stand plus its own next token;
 * the tokens come out one per step from there, as the generation loop expects. gamma follows the
 * acceptance rate ({@link AdaptiveGamma}); near max tokens or the end of the context it shrinks,
 * down to a plain lockstep step.
 */
final class SpeculativeStepper implements TokenStepper {

    private final RemoteStepper remote;
    private final PipelineDraft draft;
    private final AdaptiveGamma gamma;
    private final RouteOutcome outcome;
    private final int maxTokens;
    private final int contextLength;
    private final TokenHistory history = new TokenHistory();
    private final ArrayDeque<TokenChoice> ready = new ArrayDeque<>();
    private float[] q = new float[0];
    private boolean started;
    private int produced;

    SpeculativeStepper(RemoteStepper remote, PipelineDraft draft, AdaptiveGamma gamma, RouteOutcome outcome,
                       int maxTokens, int contextLength) {
        this.remote = remote;
        this.draft = draft;
        this.gamma = gamma;
        this.outcome = outcome;
        this.maxTokens = maxTokens;
        this.contextLength = contextLength;
    }

    @Override
    public TokenChoice next(long[] tokens) {
        history.append(tokens);
        if (!started) {
            started = true;
            return produce(remote.next(tokens));
        }
        if (!ready.isEmpty()) {
            return produce(ready.poll());
        }
        int g = Math.min(gamma.current(), Math.min(maxTokens - produced - 1, contextLength - history.length() - 1));
        if (g < 1) {
            outcome.linkRound(0, 0, 0);
            return produce(remote.next(tokens));
        }
        long[] settled = history.copy();
        if (draft.sampled() && q.length < g * draft.vocabSize()) {
            q = new float[g * draft.vocabSize()];
        }
        int[] drafted = draft.propose(settled, g, q);
        int[] ids = new int[g + 1];
        ids[0] = Math.toIntExact(settled[settled.length - 1]);
        System.arraycopy(drafted, 0, ids, 1, g);
        Frame.Verified verified = remote.verify(ids, draft.sampled() ? draft.vocabSize() : 0,
                draft.sampled() ? java.util.Arrays.copyOf(q, g * draft.vocabSize()) : new float[0]);
        draft.rollback(remote.length());
        gamma.observe(g, verified.accepted());
        outcome.linkRound(g, verified.accepted(), gamma.current());
        for (int i = 0; i < verified.accepted(); i++) {
            ready.add(new TokenChoice(drafted[i], Float.NaN, Float.NaN, Float.NaN));
        }
        ready.add(new TokenChoice(verified.next(), verified.logprob(), Float.NaN, Float.NaN));
        return produce(ready.poll());
    }

    private TokenChoice produce(TokenChoice choice) {
        produced++;
        return choice;
    }

    @Override
    public int length() {
        return history.length();
    }

    @Override
    public void close() {
        try {
            remote.close();
        } finally {
            draft.close();
        }
    }
}
