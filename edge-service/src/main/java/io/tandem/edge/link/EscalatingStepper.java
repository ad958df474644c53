package io.tandem.edge.link;

import io.tandem.edge.routing.ConfidenceMonitor;
import io.tandem.edge.routing.RouteOutcome;
import io.tandem.model.generate.TokenStepper;
import io.tandem.model.sampling.TokenChoice;
import java.util.function.IntFunction;

/**
 * Local first: the device answers while its model is confident; when confidence drops, the token
 * it was unsure of is discarded and the cloud, having re-read the prompt and every token so far,
 * chooses it and the rest of the answer.
 */
final class EscalatingStepper implements TokenStepper {

    private final TokenStepper local;
    private final ConfidenceMonitor monitor;
    private final IntFunction<TokenStepper> cloud;
    private final RouteOutcome outcome;
    private final TokenHistory history = new TokenHistory();
    private int produced;
    private TokenStepper escalated;

    /** @param cloud the cloud route, given how many answer tokens came before it */
    EscalatingStepper(TokenStepper local, ConfidenceMonitor monitor, IntFunction<TokenStepper> cloud,
                      RouteOutcome outcome) {
        this.local = local;
        this.monitor = monitor;
        this.cloud = cloud;
        this.outcome = outcome;
    }

    @Override
    public TokenChoice next(long[] tokens) {
        history.append(tokens);
        if (escalated != null) {
            produced++;
            return escalated.next(tokens);
        }
        TokenChoice choice = local.next(tokens);
        if (monitor.dropped(choice)) {
            outcome.escalated(produced, monitor.reason());
            local.close();
            escalated = cloud.apply(produced);
            choice = escalated.next(history.copy());
        }
        produced++;
        return choice;
    }

    boolean escalated() {
        return escalated != null;
    }

    @Override
    public int length() {
        return history.length();
    }

    @Override
    public void close() {
        if (escalated != null) {
            escalated.close();
        } else {
            local.close();
        }
    }
}
