package io.tandem.edge.link;

import io.tandem.edge.routing.RouteOutcome;
import io.tandem.model.generate.TokenStepper;
import io.tandem.model.sampling.TokenChoice;
import java.util.function.Function;

/**
 * Tries the cloud, and when the link fails (down, refused, dropped, too slow, breaker open, budget
 * used up) finishes on this device: the local model re-reads every token fed so far and carries on
 * from there, so the answer keeps what it had and the caller is told in a warning.
 */
final class FallbackStepper implements TokenStepper {

    private final TokenStepper remote;
    private final Function<int[], TokenStepper> local;
    private final RouteOutcome outcome;
    private final int tokenOffset;
    private final TokenHistory history = new TokenHistory();
    private int produced;
    private TokenStepper active;
    private boolean fellBack;

    /**
     * @param local       the device's stepper, given the answer's tokens so far (for its penalties and constraint)
     * @param tokenOffset answer tokens produced before this stepper took over (by an escalation)
     */
    FallbackStepper(TokenStepper remote, Function<int[], TokenStepper> local, RouteOutcome outcome, int tokenOffset) {
        this.remote = remote;
        this.local = local;
        this.outcome = outcome;
        this.tokenOffset = tokenOffset;
        this.active = remote;
    }

    @Override
    public TokenChoice next(long[] tokens) {
        history.append(tokens);
        if (!fellBack) {
            try {
                TokenChoice choice = remote.next(tokens);
                produced++;
                return choice;
            } catch (LinkException e) {
                fellBack = true;
                remote.close();
                int at = tokenOffset + produced;
                outcome.fellBack(at, e.getMessage());
                outcome.warn(at == 0
                        ? "the cloud was not available (" + e.getMessage() + "); answered on this device"
                        : "the cloud route stopped after " + at + " tokens (" + e.getMessage()
                                + "); the rest of the answer was generated on this device");
                long[] fed = history.copy();
                int[] answer = new int[Math.min(at, fed.length)];
                for (int i = 0; i < answer.length; i++) {
                    answer[i] = Math.toIntExact(fed[fed.length - answer.length + i]);
                }
                active = local.apply(answer);
                produced++;
                return active.next(fed);
            }
        }
        produced++;
        return active.next(tokens);
    }

    boolean fellBack() {
        return fellBack;
    }

    @Override
    public int length() {
        return history.length();
    }

    @Override
    public void close() {
        if (active != remote) {
            active.close();
        }
        remote.close();
    }
}
