package io.tandem.model.wire;

import io.tandem.model.generate.FinishReason;
import io.tandem.model.sampling.SamplingParams;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * The body of a frame: a closed set, so that encoder and decoder switches are exhaustive and a new
 * type cannot be forgotten on one side. Constructors reject values the protocol does not allow;
 * the decoder turns that rejection into {@link WireError#BAD_VALUE}, so each rule lives in one place.
 */
public sealed interface Frame {

    FrameType type();

    /** Edge to cloud: start a session. */
    record Open(String manifestHash, Mode mode, SamplingParams sampling, int maxTokens) implements Frame {
        public Open {
            requireHash(manifestHash);
            Objects.requireNonNull(mode, "mode");
            Objects.requireNonNull(sampling, "sampling");
            if (maxTokens < 1) {
                throw new IllegalArgumentException("maxTokens must be >= 1, was " + maxTokens);
            }
        }

        @Override
        public FrameType type() {
            return FrameType.OPEN;
        }
    }

    /** Cloud to edge: the session is accepted; the cloud runs layers [firstLayer, endLayer). */
    record Opened(int firstLayer, int endLayer, String manifestHash) implements Frame {
        public Opened {
            if (firstLayer < 0 || endLayer <= firstLayer) {
                throw new IllegalArgumentException("layer range must satisfy 0 <= first < end, was [" + firstLayer + ", " + endLayer + ")");
            }
            requireHash(manifestHash);
        }

        @Override
        public FrameType type() {
            return FrameType.OPENED;
        }
    }

    /**
     * Edge to cloud in SPLIT mode: the hidden state (pre-norm residual stream) of {@code positions}
     * consecutive positions from {@code startPosition}, each {@code width} wide, encoded with
     * {@code codec} (see {@link ActivationCodec}). The payload array is owned by the record and not
     * copied, to keep the per-token path at one allocation: do not modify it.
     */
    record Activations(int startPosition, int positions, int width, Codec codec, byte[] payload) implements Frame {
        public Activations {
            if (startPosition < 0) {
                throw new IllegalArgumentException("startPosition must be >= 0, was " + startPosition);
            }
            if (positions < 1 || width < 1) {
                throw new IllegalArgumentException("shape must be at least 1x1, was " + positions + "x" + width);
            }
            Objects.requireNonNull(codec, "codec");
            Objects.requireNonNull(payload, "payload");
        }

        @Override
        public FrameType type() {
            return FrameType.ACTIVATIONS;
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Activations that
                    && startPosition == that.startPosition
                    && positions == that.positions
                    && width == that.width
                    && codec.equals(that.codec)
                    && Arrays.equals(payload, that.payload);
        }

        @Override
        public int hashCode() {
            return Objects.hash(startPosition, positions, width, codec, Arrays.hashCode(payload));
        }

        @Override
        public String toString() {
            return "Activations[startPosition=" + startPosition + ", positions=" + positions + ", width=" + width
                    + ", codec=" + codec.label() + ", payload=" + payload.length + " bytes]";
        }
    }

    /**
     * Edge to cloud in FULL mode: token ids at positions from {@code startPosition} (the prompt
     * prefill, or tokens the edge produced itself). The array is owned by the record: do not modify.
     */
    record Tokens(int startPosition, int[] ids) implements Frame {
        public Tokens {
            if (startPosition < 0) {
                throw new IllegalArgumentException("startPosition must be >= 0, was " + startPosition);
            }
            Objects.requireNonNull(ids, "ids");
            if (ids.length == 0) {
                throw new IllegalArgumentException("at least one token id is needed");
            }
            for (int id : ids) {
                if (id < 0) {
                    throw new IllegalArgumentException("token ids must be >= 0, was " + id);
                }
            }
        }

        @Override
        public FrameType type() {
            return FrameType.TOKENS;
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Tokens that && startPosition == that.startPosition && Arrays.equals(ids, that.ids);
        }

        @Override
        public int hashCode() {
            return 31 * startPosition + Arrays.hashCode(ids);
        }

        @Override
        public String toString() {
            return "Tokens[startPosition=" + startPosition + ", ids=" + Arrays.toString(ids) + "]";
        }
    }

    /**
     * Cloud to edge: one sampled token, its log-probability under the sampling distribution, the
     * reason generation ended if it ended with this token, and the accelerator time the step took
     * in microseconds ({@code -1}: not reported), which the edge's cost accounting charges for.
     */
    record Token(int id, float logprob, Optional<FinishReason> finishReason, int computeMicros) implements Frame {
        public static final int NOT_REPORTED = -1;

        public Token {
            if (id < 0) {
                throw new IllegalArgumentException("token id must be >= 0, was " + id);
            }
            // -infinity is a real log-probability (a token the filters excluded, then forced); NaN is not.
            if (!(logprob <= 0f)) {
                throw new IllegalArgumentException("logprob must be <= 0, was " + logprob);
            }
            Objects.requireNonNull(finishReason, "finishReason");
            if (computeMicros < NOT_REPORTED) {
                throw new IllegalArgumentException("compute time must be >= 0 microseconds (or -1, not reported), was "
                        + computeMicros);
            }
        }

        public Token(int id, float logprob, Optional<FinishReason> finishReason) {
            this(id, logprob, finishReason, NOT_REPORTED);
        }

        public Token(int id, float logprob) {
            this(id, logprob, Optional.empty());
        }

        public boolean computeReported() {
            return computeMicros != NOT_REPORTED;
        }

        @Override
        public FrameType type() {
            return FrameType.TOKEN;
        }
    }

    /**
     * Cloud to edge, on session id 0 (the connection, not a session): how loaded the cloud is, so
     * that the edge's routing policy can back off before the cloud is slow. Sent on connect and
     * then periodically.
     *
     * @param queueDepth steps waiting for an accelerator worker
     * @param sessions   sessions open on the cloud, all agents together
     * @param stepMillis recent mean time of one decode step, in milliseconds (0 before any step)
     */
    record Load(int queueDepth, int sessions, float stepMillis) implements Frame {
        public Load {
            if (queueDepth < 0 || sessions < 0) {
                throw new IllegalArgumentException("queue depth and sessions must be >= 0, were " + queueDepth
                        + " and " + sessions);
            }
            if (!(stepMillis >= 0f) || Float.isInfinite(stepMillis)) {
                throw new IllegalArgumentException("step time must be finite and >= 0, was " + stepMillis);
            }
        }

        @Override
        public FrameType type() {
            return FrameType.LOAD;
        }
    }

    /**
     * Edge to cloud, after Open and before the first input: how the cloud shapes each choice beyond
     * temperature, top-p and seed. {@code rules} are OpenAI's logit bias and penalties, {@code constraint}
     * what the output must be (compiled by the cloud against its own vocabulary), {@code replay} the
     * tokens this answer already has (an escalation hands over part-way): the cloud runs them through
     * the penalties and the constraint before choosing the next. Added within protocol version 1 with
     * its own body version, {@link #VERSION}, so that it can grow without touching the other frames.
     */
    record Decoding(io.tandem.model.sampling.LogitRules rules, Optional<io.tandem.model.constrain.OutputConstraint> constraint,
                    int[] replay) implements Frame {
        public static final int VERSION = 1;

        public Decoding {
            Objects.requireNonNull(rules, "rules");
            Objects.requireNonNull(constraint, "constraint");
            Objects.requireNonNull(replay, "replay");
            if (rules.bias().size() > 0xFFFF) {
                throw new IllegalArgumentException("at most 65535 logit biases, was " + rules.bias().size());
            }
            for (int id : replay) {
                if (id < 0) {
                    throw new IllegalArgumentException("token ids must be >= 0, was " + id);
                }
            }
        }

        @Override
        public FrameType type() {
            return FrameType.DECODING;
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Decoding that && rules.equals(that.rules) && constraint.equals(that.constraint)
                    && Arrays.equals(replay, that.replay);
        }

        @Override
        public int hashCode() {
            return Objects.hash(rules, constraint, Arrays.hashCode(replay));
        }

        @Override
        public String toString() {
            return "Decoding[rules=" + rules + ", constraint=" + constraint + ", replay=" + Arrays.toString(replay) + "]";
        }
    }

    /** Edge to cloud: stop generating for this session; the cloud answers with Close. */
    record Cancel() implements Frame {
        @Override
        public FrameType type() {
            return FrameType.CANCEL;
        }
    }

    /** Either way: the session failed; {@code code} is application-defined and non-negative. */
    record Error(int code, String message) implements Frame {
        public Error {
            if (code < 0) {
                throw new IllegalArgumentException("error code must be >= 0, was " + code);
            }
            Objects.requireNonNull(message, "message");
        }

        @Override
        public FrameType type() {
            return FrameType.ERROR;
        }
    }

    /** Either way: the session is over and its state may be freed. */
    record Close() implements Frame {
        @Override
        public FrameType type() {
            return FrameType.CLOSE;
        }
    }

    private static void requireHash(String manifestHash) {
        Objects.requireNonNull(manifestHash, "manifestHash");
        if (manifestHash.isEmpty()) {
            throw new IllegalArgumentException("manifest hash must not be empty");
        }
    }
}
