package io.tandem.edge.inference;

import io.tandem.model.generate.GeneratedToken;
import io.tandem.model.generate.GenerationResult;

/** What a running generation emits, in order: tokens, possibly trailing text, then the result. */
public sealed interface InferenceEvent {

    /** The generation left the queue and began; {@code queuedNanos} is how long it waited. */
    record Started(long queuedNanos) implements InferenceEvent {
    }

    record Token(GeneratedToken token) implements InferenceEvent {
    }

    /** Text held back until the end (see {@link io.tandem.model.generate.GenerationListener#onTrailingText}). */
    record TrailingText(String text) implements InferenceEvent {
    }

    record Finished(GenerationResult result) implements InferenceEvent {
    }
}
