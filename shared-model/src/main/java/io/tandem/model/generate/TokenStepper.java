package io.tandem.model.generate;

import io.tandem.model.sampling.TokenChoice;

/**
 * One sequence as the generation loop drives it: feed tokens at the next positions and get the
 * token chosen after the last of them. Where the choice is made is the implementation's business:
 * here from local logits ({@link SamplingStepper}), or in the cloud, which samples and sends the
 * token back. The loop around it (stop strings, end tokens, limits, text) stays on the device.
 */
public interface TokenStepper extends AutoCloseable {

    /** Processes {@code tokens} at positions {@code [length(), length() + tokens.length)} and chooses the next. */
    TokenChoice next(long[] tokens);

    /** Tokens processed so far. */
    int length();

    @Override
    void close();
}
