package io.tandem.model.engine;

import io.tandem.model.generate.TokenText;
import io.tandem.model.tokenizer.Llama2cTokenizer;
import io.tandem.model.tokenizer.TextStream;
import java.util.Set;

/** How the generation loop uses a llama2.c tokenizer: streaming text and the ids that end a story. */
public final class Llama2cText {
    private Llama2cText() {
    }

    public static TokenText tokenText(Llama2cTokenizer tokenizer) {
        return previous -> {
            TextStream stream = tokenizer.textStream(previous);
            return new TokenText.Stream() {
                @Override
                public String feed(int token) {
                    return stream.feed(token);
                }

                @Override
                public String flush() {
                    return stream.flush();
                }
            };
        };
    }

    /** llama2.c models end a story by starting the next one (BOS); EOS ends it too. */
    public static Set<Integer> endTokens(Llama2cTokenizer tokenizer) {
        return Set.of(tokenizer.bosId(), tokenizer.eosId());
    }
}
