package io.tandem.model.generate;

import java.util.function.Consumer;

/** Receives a generation as it happens. Called on the generating thread; keep it quick. */
public interface GenerationListener {

    GenerationListener NONE = token -> { };

    /** A token was generated; its text may be empty while characters or a stop string are incomplete. */
    void onToken(GeneratedToken token);

    /** Text held back until the end (an incomplete character or a stop-string prefix that never completed). */
    default void onTrailingText(String text) {
    }

    /** A listener that only wants the text, in order. */
    static GenerationListener text(Consumer<String> sink) {
        return new GenerationListener() {
            @Override
            public void onToken(GeneratedToken token) {
                if (!token.text().isEmpty()) {
                    sink.accept(token.text());
                }
            }

            @Override
            public void onTrailingText(String text) {
                sink.accept(text);
            }
        };
    }
}
