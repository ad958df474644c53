package io.tandem.model.wire;

import io.tandem.model.generate.FinishReason;
import io.tandem.model.sampling.SamplingParams;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Reads one frame strictly: every length is checked against the bytes present and against the
 * {@link WireLimits} before anything is allocated, every enumerated value against its closed set,
 * and the message must end exactly where the body does. It throws nothing but
 * {@link WireException}, runs in time linear in the message, and is stateless (safe to share).
 *
 * <p>Activation payloads stay encoded (and compressed) here: {@link ActivationCodec#decode} is the
 * second stage, so a router can look at a frame without paying for decompression.
 */
public final class FrameDecoder {

    private final WireLimits limits;

    private final int maxVersion;

    public FrameDecoder(WireLimits limits) {
        this(limits, WireFormat.VERSION);
    }

    /** A decoder that reads versions up to {@code maxVersion} only, as an older build would. */
    public FrameDecoder(WireLimits limits, int maxVersion) {
        this.limits = Objects.requireNonNull(limits, "limits");
        if (maxVersion < WireFormat.MIN_VERSION || maxVersion > WireFormat.VERSION) {
            throw new IllegalArgumentException("maxVersion " + maxVersion + " is not one this build speaks");
        }
        this.maxVersion = maxVersion;
    }

    public FrameDecoder() {
        this(WireLimits.DEFAULT);
    }

    public WireLimits limits() {
        return limits;
    }

    public Envelope decode(byte[] message) {
        return decode(ByteBuffer.wrap(message));
    }

    /** Decodes the bytes from message's position to its limit; the argument is not modified. */
    public Envelope decode(ByteBuffer message) {
        ByteBuffer in = message.slice().order(ByteOrder.LITTLE_ENDIAN);
        // Checked first: a peer that sends more than we accept is told so (1009), whatever it sent.
        if (in.remaining() > limits.maxFrameBytes()) {
            throw new WireException(WireError.TOO_LARGE, "message of " + in.remaining() + " bytes exceeds " + limits.maxFrameBytes());
        }
        if (in.remaining() >= WireFormat.MAGIC.length) {
            for (int i = 0; i < WireFormat.MAGIC.length; i++) {
                if (in.get(i) != WireFormat.MAGIC[i]) {
                    throw new WireException(WireError.BAD_MAGIC, "not a Tandem frame");
                }
            }
        }
        if (in.remaining() < WireFormat.HEADER_BYTES) {
            throw new WireException(WireError.TRUNCATED, "message of " + in.remaining() + " bytes is shorter than the "
                    + WireFormat.HEADER_BYTES + "-byte header");
        }
        in.position(WireFormat.MAGIC.length);
        int version = Byte.toUnsignedInt(in.get());
        if (version < WireFormat.MIN_VERSION || version > maxVersion) {
            throw new WireException(WireError.UNSUPPORTED_VERSION, "version " + version + ", this build speaks "
                    + (maxVersion == WireFormat.MIN_VERSION ? "" : WireFormat.MIN_VERSION + " to ") + maxVersion);
        }
        FrameType type = FrameType.fromWire(Byte.toUnsignedInt(in.get()), version);
        int flags = Byte.toUnsignedInt(in.get());
        int reserved = Byte.toUnsignedInt(in.get());
        int allowedFlags = type == FrameType.TOKEN ? WireFormat.FLAG_COMPUTE_TIME : 0;
        if ((flags & ~allowedFlags) != 0 || reserved != 0) {
            // An unknown bit means a sender expecting semantics we lack.
            throw new WireException(WireError.BAD_VALUE, "flags " + flags + " and reserved " + reserved
                    + " must be 0" + (allowedFlags != 0 ? " (or flags " + allowedFlags + " on a " + type + ")" : ""));
        }
        long sessionId = in.getLong();
        long sequence = in.getLong();
        int bodyLength = in.getInt();
        if (bodyLength < 0) {
            throw new WireException(WireError.BAD_VALUE, "negative body length " + bodyLength);
        }
        if (bodyLength > in.remaining()) {
            throw new WireException(WireError.TRUNCATED, "body of " + bodyLength + " bytes declared, " + in.remaining() + " present");
        }
        if (bodyLength < in.remaining()) {
            throw new WireException(WireError.LENGTH_MISMATCH, "body of " + bodyLength + " bytes declared, " + in.remaining() + " present");
        }
        Frame frame;
        try {
            frame = readBody(type, flags, in, version);
        } catch (IllegalArgumentException invalid) {
            // A record's compact constructor refused a value: the rule lives there, the kind here.
            throw new WireException(WireError.BAD_VALUE, invalid.getMessage(), invalid);
        }
        if (in.hasRemaining()) {
            throw new WireException(WireError.LENGTH_MISMATCH, in.remaining() + " bytes after the " + type + " body");
        }
        return new Envelope(sessionId, sequence, frame);
    }

    private Frame readBody(FrameType type, int flags, ByteBuffer in, int version) {
        return switch (type) {
            case OPEN -> {
                String hash = readString(in);
                need(in, 1 + 4 + 4 + 4 + 4 + 1 + 8 + 4);
                int modeCode = Byte.toUnsignedInt(in.get());
                int splitLayer = in.getInt();
                Mode mode = switch (modeCode) {
                    case 0 -> {
                        if (splitLayer != 0) {
                            throw new WireException(WireError.BAD_VALUE, "FULL mode with split layer " + splitLayer);
                        }
                        yield Mode.FULL;
                    }
                    case 1 -> Mode.split(splitLayer);
                    default -> throw new WireException(WireError.BAD_VALUE, "unknown mode " + modeCode);
                };
                float temperature = in.getFloat();
                float topP = in.getFloat();
                int topK = in.getInt();
                int hasSeed = Byte.toUnsignedInt(in.get());
                long seed = in.getLong();
                OptionalLong seedOption = switch (hasSeed) {
                    case 0 -> {
                        if (seed != 0) {
                            throw new WireException(WireError.BAD_VALUE, "seed bytes must be 0 when no seed is given");
                        }
                        yield OptionalLong.empty();
                    }
                    case 1 -> OptionalLong.of(seed);
                    default -> throw new WireException(WireError.BAD_VALUE, "seed presence must be 0 or 1, was " + hasSeed);
                };
                int maxTokens = in.getInt();
                SamplingParams sampling = new SamplingParams(temperature, topP, topK, seedOption);
                if (version < 2) {
                    yield new Frame.Open(hash, mode, sampling, maxTokens);
                }
                need(in, 1 + 4 + 2);
                Delivery delivery = Delivery.fromWire(Byte.toUnsignedInt(in.get()));
                int credits = in.getInt();
                int endCount = Short.toUnsignedInt(in.getShort());
                if (endCount > Frame.Open.MAX_END_TOKENS) {
                    throw new WireException(WireError.TOO_LARGE, endCount + " end tokens exceed " + Frame.Open.MAX_END_TOKENS);
                }
                need(in, 4L * endCount);
                int[] endTokens = new int[endCount];
                for (int i = 0; i < endCount; i++) {
                    endTokens[i] = in.getInt();
                }
                yield new Frame.Open(hash, mode, sampling, maxTokens, delivery, credits, endTokens);
            }
            case OPENED -> {
                need(in, 8);
                int first = in.getInt();
                int end = in.getInt();
                yield new Frame.Opened(first, end, readString(in));
            }
            case ACTIVATIONS -> readActivations(in);
            case TOKENS -> {
                need(in, 4);
                int start = in.getInt();
                yield new Frame.Tokens(start, readIds(in));
            }
            case TOKEN -> {
                need(in, 9);
                int id = in.getInt();
                float logprob = in.getFloat();
                Optional<FinishReason> finish = finishReason(Byte.toUnsignedInt(in.get()));
                int computeMicros = Frame.Token.NOT_REPORTED;
                if ((flags & WireFormat.FLAG_COMPUTE_TIME) != 0) {
                    need(in, 4);
                    computeMicros = in.getInt();
                    if (computeMicros < 0) {
                        throw new WireException(WireError.BAD_VALUE, "negative compute time " + computeMicros);
                    }
                }
                yield new Frame.Token(id, logprob, finish, computeMicros);
            }
            case LOAD -> {
                need(in, 12);
                yield new Frame.Load(in.getInt(), in.getInt(), in.getFloat());
            }
            case DECODING -> readDecoding(in);
            case CANCEL -> new Frame.Cancel();
            case ERROR -> {
                need(in, 4);
                int code = in.getInt();
                yield new Frame.Error(code, readString(in));
            }
            case CLOSE -> new Frame.Close();
            case CREDIT -> {
                need(in, 4);
                yield new Frame.Credit(in.getInt());
            }
            case DRAFT -> readDraft(in);
            case VERIFIED -> {
                need(in, 17);
                int accepted = in.getInt();
                int next = in.getInt();
                float logprob = in.getFloat();
                Optional<FinishReason> finish = finishReason(Byte.toUnsignedInt(in.get()));
                yield new Frame.Verified(accepted, next, logprob, finish, in.getInt());
            }
        };
    }

    private Frame.Decoding readDecoding(ByteBuffer in) {
        need(in, 1 + 4 + 4 + 2);
        int version = Byte.toUnsignedInt(in.get());
        if (version != Frame.Decoding.VERSION) {
            throw new WireException(WireError.BAD_VALUE, "Decoding body version " + version + "; this build reads "
                    + Frame.Decoding.VERSION);
        }
        float presence = in.getFloat();
        float frequency = in.getFloat();
        int biasCount = Short.toUnsignedInt(in.getShort());
        need(in, 8L * biasCount);
        java.util.Map<Integer, Float> bias = new java.util.TreeMap<>();
        for (int i = 0; i < biasCount; i++) {
            int id = in.getInt();
            float value = in.getFloat();
            if (bias.put(id, value) != null) {
                throw new WireException(WireError.BAD_VALUE, "logit bias for token " + id + " given twice");
            }
        }
        need(in, 1);
        int kind = Byte.toUnsignedInt(in.get());
        Optional<io.tandem.model.constrain.OutputConstraint> constraint = switch (kind) {
            case 0 -> Optional.empty();
            case 1 -> Optional.of(io.tandem.model.constrain.OutputConstraint.jsonObject());
            case 2 -> Optional.of(io.tandem.model.constrain.OutputConstraint.jsonSchema(readString(in)));
            case 3 -> Optional.of(new io.tandem.model.constrain.OutputConstraint(
                    io.tandem.model.constrain.OutputConstraint.Kind.TOOL_CALL, readString(in)));
            default -> throw new WireException(WireError.BAD_VALUE, "unknown constraint kind " + kind);
        };
        int[] replay = readIds(in);
        return new Frame.Decoding(new io.tandem.model.sampling.LogitRules(bias, presence, frequency), constraint, replay);
    }

    /** An {@code i32} count, then that many {@code i32} token ids, checked against the limits before allocating. */
    private int[] readIds(ByteBuffer in) {
        need(in, 4);
        int count = in.getInt();
        if (count < 0) {
            throw new WireException(WireError.BAD_VALUE, "negative token count " + count);
        }
        if (count > limits.maxPositions()) {
            throw new WireException(WireError.TOO_LARGE, count + " token ids exceed " + limits.maxPositions());
        }
        need(in, 4L * count);
        int[] ids = new int[count];
        in.asIntBuffer().get(ids);
        in.position(in.position() + 4 * count);
        return ids;
    }

    private Frame.Draft readDraft(ByteBuffer in) {
        need(in, 4);
        int start = in.getInt();
        int[] ids = readIds(in);
        int count = ids.length;
        need(in, 4);
        int vocab = in.getInt();
        if (vocab < 0) {
            throw new WireException(WireError.BAD_VALUE, "negative vocabulary size " + vocab);
        }
        long values = vocab == 0 ? 0 : (long) vocab * Math.max(0, count - 1);
        // the bytes must be there before the array is made: a lying vocabulary size allocates nothing
        need(in, 4 * values);
        float[] q = new float[(int) values];
        for (int i = 0; i < q.length; i++) {
            q[i] = in.getFloat();
        }
        return new Frame.Draft(start, ids, vocab, q);
    }

    private Frame.Activations readActivations(ByteBuffer in) {
        need(in, 20);
        int start = in.getInt();
        int positions = in.getInt();
        int width = in.getInt();
        ActivationDtype dtype = ActivationDtype.fromWire(Byte.toUnsignedInt(in.get()));
        Compression compression = Compression.fromWire(Byte.toUnsignedInt(in.get()));
        short reserved = in.getShort();
        int payloadLength = in.getInt();
        if (reserved != 0) {
            throw new WireException(WireError.BAD_VALUE, "reserved activation bytes must be 0");
        }
        if (positions < 1 || width < 1 || payloadLength < 0) {
            throw new WireException(WireError.BAD_VALUE, "shape " + positions + "x" + width + " and payload length "
                    + payloadLength + " must be positive");
        }
        if (positions > limits.maxPositions() || width > limits.maxWidth()) {
            throw new WireException(WireError.TOO_LARGE, "shape " + positions + "x" + width + " exceeds "
                    + limits.maxPositions() + "x" + limits.maxWidth());
        }
        if (payloadLength != in.remaining()) {
            throw new WireException(WireError.LENGTH_MISMATCH, "payload of " + payloadLength + " bytes declared, "
                    + in.remaining() + " in the body");
        }
        long raw = dtype.rawBytes(positions, width);
        switch (compression) {
            case NONE -> {
                if (payloadLength != raw) {
                    throw new WireException(WireError.LENGTH_MISMATCH, "uncompressed " + dtype + " " + positions + "x"
                            + width + " needs " + raw + " bytes, payload has " + payloadLength);
                }
            }
            case ZSTD -> {
                if (payloadLength == 0) {
                    throw new WireException(WireError.LENGTH_MISMATCH, "empty compressed payload");
                }
                // Decompression allocates the raw size: no more than an uncompressed frame could carry.
                if (raw > limits.maxFrameBytes()) {
                    throw new WireException(WireError.TOO_LARGE, "compressed " + dtype + " " + positions + "x" + width
                            + " would decompress to " + raw + " bytes, more than " + limits.maxFrameBytes());
                }
            }
        }
        byte[] payload = new byte[payloadLength];
        in.get(payload);
        return new Frame.Activations(start, positions, width, new Codec(dtype, compression), payload);
    }

    private static Optional<FinishReason> finishReason(int code) {
        return switch (code) {
            case 0 -> Optional.empty();
            case 1 -> Optional.of(FinishReason.END_OF_SEQUENCE);
            case 2 -> Optional.of(FinishReason.STOP_STRING);
            case 3 -> Optional.of(FinishReason.MAX_TOKENS);
            case 4 -> Optional.of(FinishReason.CONTEXT_FULL);
            case 5 -> Optional.of(FinishReason.CANCELLED);
            default -> throw new WireException(WireError.BAD_VALUE, "unknown finish reason " + code);
        };
    }

    private String readString(ByteBuffer in) {
        need(in, 2);
        int length = Short.toUnsignedInt(in.getShort());
        if (length > limits.maxStringBytes()) {
            throw new WireException(WireError.TOO_LARGE, "string of " + length + " bytes exceeds " + limits.maxStringBytes());
        }
        need(in, length);
        ByteBuffer bytes = in.slice(in.position(), length);
        in.position(in.position() + length);
        // String(byte[], UTF_8) would silently replace bad sequences; a strict decoder must refuse them.
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try {
            CharBuffer chars = utf8.decode(bytes);
            return chars.toString();
        } catch (CharacterCodingException invalid) {
            throw new WireException(WireError.BAD_VALUE, "string is not valid UTF-8", invalid);
        }
    }

    private static void need(ByteBuffer in, long bytes) {
        if (in.remaining() < bytes) {
            throw new WireException(WireError.TRUNCATED, "body ends " + (bytes - in.remaining()) + " bytes early");
        }
    }
}
