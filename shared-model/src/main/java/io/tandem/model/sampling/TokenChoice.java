package io.tandem.model.sampling;

/**
 * A chosen token with the model's confidence in it, all measured on the untempered distribution:
 * {@code logprob} of the token, {@code entropy} (nats) of the whole distribution, and
 * {@code margin}, the logprob gap between the two most likely tokens. When logit rules or a mask
 * applied, the distribution is the adjusted one the token was drawn from. {@code topIds} and
 * {@code topLogprobs} are the most likely tokens of that distribution, best first, when asked for
 * (empty otherwise).
 */
public record TokenChoice(int token, float logprob, float entropy, float margin, int[] topIds, float[] topLogprobs) {

    private static final int[] NO_IDS = new int[0];
    private static final float[] NO_LOGPROBS = new float[0];

    public TokenChoice {
        if (topIds.length != topLogprobs.length) {
            throw new IllegalArgumentException("top ids and logprobs differ in length");
        }
    }

    public TokenChoice(int token, float logprob, float entropy, float margin) {
        this(token, logprob, entropy, margin, NO_IDS, NO_LOGPROBS);
    }
}
