package io.tandem.edge.link;

import io.tandem.model.generate.TokenStepper;
import io.tandem.model.runtime.KvSequence;
import io.tandem.model.runtime.StageInput;
import io.tandem.model.runtime.StageOutput;
import io.tandem.model.sampling.TokenChoice;
import io.tandem.model.wire.ActivationCodec;
import io.tandem.model.wire.Codec;
import io.tandem.model.wire.Frame;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import reactor.core.publisher.Mono;

/**
 * A sequence whose tokens the cloud chooses. In SPLIT mode the edge runs the first layers itself
 * ({@code head}) and sends their output; in FULL mode it sends token ids. One round trip per step,
 * each under the {@link CloudGuard}'s breaker and time limit, each charged to the request's budget.
 * The session opens on the first step, so a cloud that is down costs no more than that step.
 */
final class RemoteStepper implements TokenStepper {

    /** Charges one cloud step; false when the request's budget cannot pay for it. */
    @FunctionalInterface
    interface StepCharge {
        boolean charge(int computeMicros, long bytesUp);
    }

    private final CloudLink link;
    private final CloudGuard guard;
    private final StepCharge charge;
    private AutoCloseable permit;
    private long bytesUp;
    private final Frame.Open open;
    private final Frame.Decoding decoding;
    private final int answerSoFar;
    private final KvSequence head;
    private final Codec codec;
    private final int width;
    private RemoteSession session;
    private float[] hidden = new float[0];
    private int length;

    /**
     * @param decoding    sent after Open when the request shapes its choices beyond plain sampling, else null;
     *                    the cloud replays the last {@code answerSoFar} ids of the first input through it
     * @param head        the edge's layers [0, k) for SPLIT, owned from now on; null for FULL
     */
    RemoteStepper(CloudLink link, CloudGuard guard, StepCharge charge, Frame.Open open, Frame.Decoding decoding,
                  int answerSoFar, KvSequence head, Codec codec, int width) {
        this.link = link;
        this.guard = guard;
        this.charge = charge;
        this.open = open;
        this.decoding = decoding;
        this.answerSoFar = answerSoFar;
        this.head = head;
        this.codec = codec;
        this.width = width;
    }

    @Override
    public TokenChoice next(long[] tokens) {
        bytesUp = 0;
        Frame reply;
        if (session == null) {
            permit = guard.enterSession();
            reply = guard.firstExchange(Mono.fromCallable(() -> {
                session = link.openSession();
                bytesUp += session.send(open, "control");
                if (decoding != null) {
                    int[] replay = new int[Math.min(answerSoFar, tokens.length)];
                    for (int i = 0; i < replay.length; i++) {
                        replay[i] = Math.toIntExact(tokens[tokens.length - replay.length + i]);
                    }
                    bytesUp += session.send(new Frame.Decoding(decoding.rules(), decoding.constraint(), replay), "control");
                }
                sendInput(tokens);
                return session;
            }).flatMap(opening -> opening.next().flatMap(opened -> {
                if (!(opened instanceof Frame.Opened)) {
                    return Mono.error(new LinkException("the cloud answered Open with " + opened.type()));
                }
                return opening.next();
            })));
        } else {
            sendInput(tokens);
            reply = guard.nextToken(session.next());
        }
        if (!(reply instanceof Frame.Token token)) {
            throw new LinkException("the cloud sent " + reply.type() + " where a token was due");
        }
        length += tokens.length;
        if (token.finishReason().isPresent()) {
            session.endedByCloud();
        }
        if (!charge.charge(token.computeMicros(), bytesUp)) {
            throw new LinkException("the request's share of the cloud budget is used up");
        }
        return new TokenChoice(token.id(), token.logprob(), Float.NaN, Float.NaN);
    }

    private void sendInput(long[] tokens) {
        if (head == null) {
            int[] ids = new int[tokens.length];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = Math.toIntExact(tokens[i]);
            }
            bytesUp += session.send(new Frame.Tokens(length, ids), "tokens");
        } else {
            StageOutput.Hidden out = (StageOutput.Hidden) head.run(new StageInput.Tokens(tokens));
            FloatBuffer floats = out.bytes().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            int count = floats.remaining();
            if (hidden.length < count) {
                hidden = new float[count];
            }
            floats.get(hidden, 0, count);
            Frame.Activations frame = ActivationCodec.encode(length, count == hidden.length ? hidden
                    : java.util.Arrays.copyOf(hidden, count), tokens.length, width, codec);
            bytesUp += session.send(frame, codec.label());
        }
    }

    @Override
    public int length() {
        return length;
    }

    @Override
    public void close() {
        if (session != null) {
            session.close();
        }
        if (permit != null) {
            try {
                permit.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
            permit = null;
        }
        if (head != null) {
            head.close();
        }
    }
}
