package io.tandem.model.sampling;

/**
 * A chosen token with the model's confidence in it, all measured on the untempered distribution:
 * {@code logprob} of the token, {@code entropy} (nats) of the whole distribution, and
 * {@code margin}, the logprob gap between the two most likely tokens.
 */
public record TokenChoice(int token, float logprob, float entropy, float margin) {
}
