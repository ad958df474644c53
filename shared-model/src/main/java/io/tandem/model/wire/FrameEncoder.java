package io.tandem.model.wire;

import io.tandem.model.generate.FinishReason;
import io.tandem.model.sampling.SamplingParams;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Writes envelopes in the version 2 layout, or in version 1 for a peer that speaks only that
 * (little-endian; see the golden files' README). Pure
 * functions; the encoder refuses (IllegalArgumentException) anything a strict decoder would reject
 * for reasons the sender controls, so that a bug shows up at the sender.
 */
public final class FrameEncoder {

    private FrameEncoder() {}

    /** A new heap buffer holding exactly the frame, positioned at 0, little-endian. */
    public static ByteBuffer encode(Envelope envelope) {
        return ByteBuffer.wrap(encodeToArray(envelope)).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The frame as a new byte array: one allocation for the whole message. */
    public static byte[] encodeToArray(Envelope envelope) {
        return encodeToArray(envelope, WireFormat.VERSION);
    }

    /**
     * The frame in protocol {@code version}; IllegalArgumentException when that version cannot
     * carry it (see {@link WireFormat#requireWritable}).
     */
    public static byte[] encodeToArray(Envelope envelope, int version) {
        WireFormat.requireWritable(envelope.frame(), version);
        Body body = Body.of(envelope.frame(), version);
        byte[] out = new byte[Math.toIntExact(WireFormat.HEADER_BYTES + body.length)];
        writeTo(envelope, body, ByteBuffer.wrap(out), version);
        return out;
    }

    /** Writes the frame at dst's position (any byte order; the frame is always little-endian). */
    public static void encode(Envelope envelope, ByteBuffer dst) {
        writeTo(envelope, Body.of(envelope.frame(), WireFormat.VERSION), dst, WireFormat.VERSION);
    }

    /** Exact size in bytes of the encoded frame. */
    public static int encodedSize(Envelope envelope) {
        return Math.toIntExact(WireFormat.HEADER_BYTES + Body.of(envelope.frame(), WireFormat.VERSION).length);
    }

    private static void writeTo(Envelope envelope, Body body, ByteBuffer dst, int version) {
        ByteOrder callerOrder = dst.order();
        dst.order(ByteOrder.LITTLE_ENDIAN);
        try {
            Frame frame = envelope.frame();
            dst.put(WireFormat.MAGIC)
                    .put((byte) version)
                    .put((byte) frame.type().wireCode())
                    .put((byte) flags(frame))
                    .put((byte) 0) // reserved
                    .putLong(envelope.sessionId())
                    .putLong(envelope.sequence())
                    .putInt((int) body.length);
            writeBody(frame, body, dst, version);
        } finally {
            dst.order(callerOrder);
        }
    }

    private static void writeBody(Frame frame, Body body, ByteBuffer dst, int version) {
        switch (frame) {
            case Frame.Open open -> {
                putString(dst, body.utf8);
                switch (open.mode()) {
                    case Mode.Full full -> dst.put((byte) 0).putInt(0);
                    case Mode.Split split -> dst.put((byte) 1).putInt(split.firstCloudLayer());
                }
                SamplingParams sampling = open.sampling();
                dst.putFloat(sampling.temperature()).putFloat(sampling.topP()).putInt(sampling.topK());
                dst.put((byte) (sampling.seed().isPresent() ? 1 : 0)).putLong(sampling.seed().orElse(0L));
                dst.putInt(open.maxTokens());
                if (version >= 2) {
                    dst.put((byte) open.delivery().wireCode()).putInt(open.credits())
                            .putShort((short) open.endTokens().length);
                    for (int id : open.endTokens()) {
                        dst.putInt(id);
                    }
                }
            }
            case Frame.Opened opened -> {
                dst.putInt(opened.firstLayer()).putInt(opened.endLayer());
                putString(dst, body.utf8);
            }
            case Frame.Activations activations -> {
                dst.putInt(activations.startPosition())
                        .putInt(activations.positions())
                        .putInt(activations.width())
                        .put((byte) activations.codec().dtype().wireCode())
                        .put((byte) activations.codec().compression().wireCode())
                        .putShort((short) 0) // reserved, keeps the payload 4-byte aligned in the body
                        .putInt(activations.payload().length)
                        .put(activations.payload());
            }
            case Frame.Tokens tokens -> {
                dst.putInt(tokens.startPosition()).putInt(tokens.ids().length);
                for (int id : tokens.ids()) {
                    dst.putInt(id);
                }
            }
            case Frame.Token token -> {
                dst.putInt(token.id()).putFloat(token.logprob()).put((byte) finishCode(token.finishReason()));
                if (token.computeReported()) {
                    dst.putInt(token.computeMicros());
                }
            }
            case Frame.Load load -> dst.putInt(load.queueDepth()).putInt(load.sessions()).putFloat(load.stepMillis());
            case Frame.Decoding decoding -> {
                dst.put((byte) Frame.Decoding.VERSION)
                        .putFloat(decoding.rules().presencePenalty())
                        .putFloat(decoding.rules().frequencyPenalty())
                        .putShort((short) decoding.rules().bias().size());
                decoding.rules().bias().forEach((id, value) -> dst.putInt(id).putFloat(value));
                dst.put((byte) (int) decoding.constraint().map(c -> c.kind().wireCode()).orElse(0));
                if (decoding.constraint().isPresent() && body.utf8 != null) {
                    putString(dst, body.utf8);
                }
                dst.putInt(decoding.replay().length);
                for (int id : decoding.replay()) {
                    dst.putInt(id);
                }
            }
            case Frame.Error error -> {
                dst.putInt(error.code());
                putString(dst, body.utf8);
            }
            case Frame.Cancel cancel -> {}
            case Frame.Close close -> {}
            case Frame.Credit credit -> dst.putInt(credit.tokens());
            case Frame.Draft draft -> {
                dst.putInt(draft.startPosition()).putInt(draft.ids().length);
                for (int id : draft.ids()) {
                    dst.putInt(id);
                }
                dst.putInt(draft.vocabSize());
                for (float q : draft.draftProbabilities()) {
                    dst.putFloat(q);
                }
            }
            case Frame.Verified verified -> dst.putInt(verified.accepted()).putInt(verified.next())
                    .putFloat(verified.logprob()).put((byte) finishCode(verified.finishReason()))
                    .putInt(verified.computeMicros());
        }
    }

    private static int flags(Frame frame) {
        return frame instanceof Frame.Token token && token.computeReported() ? WireFormat.FLAG_COMPUTE_TIME : 0;
    }

    /** Wire code of a finish reason: 0 is "none", the rest explicit so the enum may be reordered. */
    static int finishCode(Optional<FinishReason> reason) {
        if (reason.isEmpty()) {
            return 0;
        }
        return switch (reason.get()) {
            case END_OF_SEQUENCE -> 1;
            case STOP_STRING -> 2;
            case MAX_TOKENS -> 3;
            case CONTEXT_FULL -> 4;
            case CANCELLED -> 5;
        };
    }

    private static void putString(ByteBuffer dst, byte[] utf8) {
        dst.putShort((short) utf8.length).put(utf8);
    }

    /** The body length and the one string a body may hold, computed once per encode. */
    private record Body(long length, byte[] utf8) {
        static Body of(Frame frame, int version) {
            return switch (frame) {
                case Frame.Open open -> {
                    byte[] hash = utf8(open.manifestHash());
                    long v2 = version >= 2 ? 1 + 4 + 2 + 4L * open.endTokens().length : 0;
                    yield new Body(2 + hash.length + 1 + 4 + 4 + 4 + 4 + 1 + 8 + 4 + v2, hash);
                }
                case Frame.Opened opened -> {
                    byte[] hash = utf8(opened.manifestHash());
                    yield new Body(4 + 4 + 2 + hash.length, hash);
                }
                case Frame.Activations activations -> {
                    requireConsistentPayload(activations);
                    yield new Body(4 + 4 + 4 + 1 + 1 + 2 + 4 + (long) activations.payload().length, null);
                }
                case Frame.Tokens tokens -> new Body(4 + 4 + 4L * tokens.ids().length, null);
                case Frame.Token token -> new Body(4 + 4 + 1 + (token.computeReported() ? 4 : 0), null);
                case Frame.Load load -> new Body(4 + 4 + 4, null);
                case Frame.Decoding decoding -> {
                    byte[] schema = decoding.constraint().filter(io.tandem.model.constrain.OutputConstraint::hasText)
                            .map(c -> utf8(c.schema())).orElse(null);
                    yield new Body(1 + 4 + 4 + 2 + 8L * decoding.rules().bias().size() + 1
                            + (schema == null ? 0 : 2 + schema.length) + 4 + 4L * decoding.replay().length, schema);
                }
                case Frame.Error error -> {
                    byte[] message = utf8(error.message());
                    yield new Body(4 + 2 + message.length, message);
                }
                case Frame.Cancel cancel -> new Body(0, null);
                case Frame.Close close -> new Body(0, null);
                case Frame.Credit credit -> new Body(4, null);
                case Frame.Draft draft -> new Body(4 + 4 + 4L * draft.ids().length + 4
                        + 4L * draft.draftProbabilities().length, null);
                case Frame.Verified verified -> new Body(4 + 4 + 4 + 1 + 4, null);
            };
        }

        private static byte[] utf8(String text) {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            if (bytes.length > WireFormat.MAX_STRING_BYTES) {
                throw new IllegalArgumentException("string of " + bytes.length + " UTF-8 bytes exceeds " + WireFormat.MAX_STRING_BYTES);
            }
            return bytes;
        }

        private static void requireConsistentPayload(Frame.Activations activations) {
            if (activations.codec().compression() == Compression.NONE) {
                long expected = activations.codec().dtype().rawBytes(activations.positions(), activations.width());
                if (activations.payload().length != expected) {
                    throw new IllegalArgumentException("uncompressed " + activations.codec().label() + " payload of "
                            + activations.positions() + "x" + activations.width() + " must be " + expected
                            + " bytes, was " + activations.payload().length);
                }
            } else if (activations.payload().length == 0) {
                throw new IllegalArgumentException("a compressed payload cannot be empty");
            }
        }
    }
}
