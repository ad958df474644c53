package io.tandem.model.generate;

import io.tandem.model.sampling.TokenChoice;

/**
 * One generated token as it streams out: its index among the generated tokens, the choice with
 * its confidence, and the text it releases (possibly empty while a UTF-8 character or a possible
 * stop string is still incomplete).
 */
public record GeneratedToken(int index, TokenChoice choice, String text) {
    public int id() {
        return choice.token();
    }
}
