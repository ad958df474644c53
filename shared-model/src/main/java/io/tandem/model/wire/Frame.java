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

    /**
     * Edge to cloud: start a session. Version 2 adds how tokens come back ({@code delivery}), the
     * initial credit window of a STREAM session (tokens the cloud may send before the first Credit),
     * and the ids that end a sequence, at which a streaming cloud stops on its own.
     */
    record Open(String manifestHash, Mode mode, SamplingParams sampling, int maxTokens, Delivery delivery,
                int credits, int[] endTokens) implements Frame {
        /** Most end token ids one Open carries. */
        public static final int MAX_END_TOKENS = 64;

        public Open {
            requireHash(manifestHash);
            Objects.requireNonNull(mode, "mode");
            Objects.requireNonNull(sampling, "sampling");
            Objects.requireNonNull(delivery, "delivery");
            Objects.requireNonNull(endTokens, "endTokens");
            if (maxTokens < 1) {
                throw new IllegalArgumentException("maxTokens must be >= 1, was " + maxTokens);
            }
            if (delivery == Delivery.STREAM ? credits < 1 : credits != 0) {
                throw new IllegalArgumentException("a STREAM session needs credits >= 1 and other deliveries 0, was "
                        + delivery + " with " + credits);
            }
            if (endTokens.length > MAX_END_TOKENS) {
                throw new IllegalArgumentException(endTokens.length + " end tokens exceed " + MAX_END_TOKENS);
            }
            for (int id : endTokens) {
                if (id < 0) {
                    throw new IllegalArgumentException("end token ids must be >= 0, was " + id);
                }
            }
        }

        /** A LOCKSTEP Open, the only kind version 1 has. */
        public Open(String manifestHash, Mode mode, SamplingParams sampling, int maxTokens) {
            this(manifestHash, mode, sampling, maxTokens, Delivery.LOCKSTEP, 0, new int[0]);
        }

        /** Whether version 1 can carry this Open (a plain LOCKSTEP one without end tokens). */
        public boolean versionOneCompatible() {
            return delivery == Delivery.LOCKSTEP && endTokens.length == 0;
        }

        @Override
        public FrameType type() {
            return FrameType.OPEN;
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Open that && manifestHash.equals(that.manifestHash) && mode.equals(that.mode)
                    && sampling.equals(that.sampling) && maxTokens == that.maxTokens && delivery == that.delivery
                    && credits == that.credits && Arrays.equals(endTokens, that.endTokens);
        }

        @Override
        public int hashCode() {
            return Objects.hash(manifestHash, mode, sampling, maxTokens, delivery, credits) * 31
                    + Arrays.hashCode(endTokens);
        }

        @Override
        public String toString() {
            return "Open[manifestHash=" + manifestHash + ", mode=" + mode + ", sampling=" + sampling + ", maxTokens="
                    + maxTokens + ", delivery=" + delivery + ", credits=" + credits + ", endTokens="
                    + Arrays.toString(endTokens) + "]";
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

    /**
     * Edge to cloud on a STREAM session (version 2): the cloud may send {@code tokens} more Token
     * frames. The cloud never holds more unacknowledged tokens than the credits it was given, so an
     * edge that stops reading bounds what the cloud buffers for it.
     */
    record Credit(int tokens) implements Frame {
        public Credit {
            if (tokens < 1) {
                throw new IllegalArgumentException("a credit grants at least 1 token, was " + tokens);
            }
        }

        @Override
        public FrameType type() {
            return FrameType.CREDIT;
        }
    }

    /**
     * Edge to cloud on a VERIFY session (version 2): {@code ids[0]} is the last token the session
     * settled on (not yet run through the model) at {@code startPosition}, {@code ids[1..]} are the
     * drafted continuation. In FULL mode the cloud runs these ids; in SPLIT mode an Activations frame
     * of the same positions follows. For sampled verification, {@code draftProbabilities} holds the
     * draft model's distribution q at each drafted token ({@code ids.length - 1} rows of
     * {@code vocabSize}, row-major); for greedy verification it is empty. The arrays are owned by the
     * record: do not modify them.
     */
    record Draft(int startPosition, int[] ids, int vocabSize, float[] draftProbabilities) implements Frame {
        public Draft {
            if (startPosition < 0) {
                throw new IllegalArgumentException("startPosition must be >= 0, was " + startPosition);
            }
            Objects.requireNonNull(ids, "ids");
            Objects.requireNonNull(draftProbabilities, "draftProbabilities");
            if (ids.length < 2) {
                throw new IllegalArgumentException("a draft needs the settled token and at least one drafted token, had "
                        + ids.length + " ids");
            }
            for (int id : ids) {
                if (id < 0) {
                    throw new IllegalArgumentException("token ids must be >= 0, was " + id);
                }
            }
            if (draftProbabilities.length == 0) {
                if (vocabSize != 0) {
                    throw new IllegalArgumentException("a greedy draft has vocabSize 0, was " + vocabSize);
                }
            } else {
                if (vocabSize < 1 || (long) vocabSize * (ids.length - 1) != draftProbabilities.length) {
                    throw new IllegalArgumentException(draftProbabilities.length + " draft probabilities are not "
                            + (ids.length - 1) + " rows of " + vocabSize);
                }
                for (int row = 0; row < ids.length - 1; row++) {
                    if (ids[row + 1] >= vocabSize) {
                        throw new IllegalArgumentException("drafted id " + ids[row + 1] + " is outside the vocabulary of "
                                + vocabSize);
                    }
                    for (int i = 0; i < vocabSize; i++) {
                        float q = draftProbabilities[row * vocabSize + i];
                        if (!(q >= 0f && q <= 1f)) {
                            throw new IllegalArgumentException("draft probability " + q + " at row " + row
                                    + ", token " + i + " is not in [0, 1]");
                        }
                    }
                }
            }
        }

        /** A draft for greedy verification: ids only. */
        public Draft(int startPosition, int[] ids) {
            this(startPosition, ids, 0, new float[0]);
        }

        public int drafted() {
            return ids.length - 1;
        }

        public boolean sampled() {
            return draftProbabilities.length > 0;
        }

        @Override
        public FrameType type() {
            return FrameType.DRAFT;
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Draft that && startPosition == that.startPosition && vocabSize == that.vocabSize
                    && Arrays.equals(ids, that.ids) && Arrays.equals(draftProbabilities, that.draftProbabilities);
        }

        @Override
        public int hashCode() {
            return (31 * startPosition + vocabSize) * 31 + Arrays.hashCode(ids) * 17 + Arrays.hashCode(draftProbabilities);
        }

        @Override
        public String toString() {
            return "Draft[startPosition=" + startPosition + ", ids=" + Arrays.toString(ids) + ", vocabSize=" + vocabSize
                    + ", draftProbabilities=" + draftProbabilities.length + " values]";
        }
    }

    /**
     * Cloud to edge on a VERIFY session (version 2): of the draft's tokens the first
     * {@code accepted} stand, then {@code next} (the cloud's correction, or its next token after a
     * fully accepted draft) with its log-probability; the session's length is now the draft's start
     * position + 1 + accepted, on both sides. {@code finishReason} as in Token; {@code computeMicros}
     * the accelerator time of the verification (never -1 here: verification is always charged).
     */
    record Verified(int accepted, int next, float logprob, Optional<FinishReason> finishReason, int computeMicros)
            implements Frame {
        public Verified {
            if (accepted < 0) {
                throw new IllegalArgumentException("accepted must be >= 0, was " + accepted);
            }
            if (next < 0) {
                throw new IllegalArgumentException("token id must be >= 0, was " + next);
            }
            if (!(logprob <= 0f)) {
                throw new IllegalArgumentException("logprob must be <= 0, was " + logprob);
            }
            Objects.requireNonNull(finishReason, "finishReason");
            if (computeMicros < 0) {
                throw new IllegalArgumentException("compute time must be >= 0 microseconds, was " + computeMicros);
            }
        }

        @Override
        public FrameType type() {
            return FrameType.VERIFIED;
        }
    }

    private static void requireHash(String manifestHash) {
        Objects.requireNonNull(manifestHash, "manifestHash");
        if (manifestHash.isEmpty()) {
            throw new IllegalArgumentException("manifest hash must not be empty");
        }
    }
}
