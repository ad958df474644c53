package io.tandem.edge.link;

import io.tandem.model.generate.TokenStepper;
import io.tandem.model.sampling.TokenChoice;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Tries the cloud, and when the link fails (down, refused, dropped, too slow) finishes on this
 * device: the local model re-reads every token fed so far and carries on from there, so the
 * answer keeps what it had and the caller is told in a warning.
 */
final class FallbackStepper implements TokenStepper {

    private final TokenStepper remote;
    private final Supplier<TokenStepper> local;
    private final Consumer<String> warnings;
    private long[] history = new long[64];
    private int length;
    private int produced;
    private TokenStepper active;
    private boolean fellBack;

    FallbackStepper(TokenStepper remote, Supplier<TokenStepper> local, Consumer<String> warnings) {
        this.remote = remote;
        this.local = local;
        this.warnings = warnings;
        this.active = remote;
    }

    @Override
    public TokenChoice next(long[] tokens) {
        int before = length;
        append(tokens);
        if (!fellBack) {
            try {
                TokenChoice choice = remote.next(tokens);
                produced++;
                return choice;
            } catch (LinkException e) {
                fellBack = true;
                remote.close();
                warnings.accept(produced == 0
                        ? "the cloud was not available (" + e.getMessage() + "); answered on this device"
                        : "the cloud link failed after " + produced + " tokens (" + e.getMessage()
                                + "); the rest of the answer was generated on this device");
                active = local.get();
                produced++;
                return active.next(Arrays.copyOf(history, length));
            }
        }
        produced++;
        return active.next(tokens);
    }

    boolean fellBack() {
        return fellBack;
    }

    private void append(long[] tokens) {
        if (length + tokens.length > history.length) {
            history = Arrays.copyOf(history, Math.max(history.length * 2, length + tokens.length));
        }
        System.arraycopy(tokens, 0, history, length, tokens.length);
        length += tokens.length;
    }

    @Override
    public int length() {
        return length;
    }

    @Override
    public void close() {
        if (active != remote) {
            active.close();
        }
        remote.close();
    }
}
