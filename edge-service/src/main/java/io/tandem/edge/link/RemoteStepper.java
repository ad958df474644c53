package io.tandem.edge.link;

import io.tandem.model.generate.TokenStepper;
import io.tandem.model.runtime.KvSequence;
import io.tandem.model.runtime.StageInput;
import io.tandem.model.runtime.StageOutput;
import io.tandem.model.sampling.TokenChoice;
import io.tandem.model.wire.ActivationCodec;
import io.tandem.model.wire.Codec;
import io.tandem.model.wire.Delivery;
import io.tandem.model.wire.Frame;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import reactor.core.publisher.Mono;

/**
 * A sequence whose tokens the cloud chooses. In SPLIT mode the edge runs the first layers itself
 * ({@code head}) and sends their output; in FULL mode it sends token ids. LOCKSTEP: one round trip
 * per step. STREAM (FULL only): the prompt goes up once and the cloud sends tokens on its own; each
 * step here takes the next one that arrived and grants credit as tokens are used. VERIFY: the
 * first step is a lockstep prefill, then {@link #verify} sends drafts. Every wait is under the
 * {@link CloudGuard}'s breaker and time limit, every token charged to the request's budget. The
 * session opens on the first step, so a cloud that is down costs no more than that step.
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
    /** STREAM: tokens taken since the last Credit; granted back in batches of half the window. */
    private int unacknowledged;
    private int lastStreamed = -1;
    private final java.util.function.IntConsumer dropped;

    /**
     * @param decoding    sent after Open when the request shapes its choices beyond plain sampling, else null;
     *                    the cloud replays the last {@code answerSoFar} ids of the first input through it
     * @param head        the edge's layers [0, k) for SPLIT, owned from now on; null for FULL
     * @param dropped     told how many streamed tokens arrived but were never used (a stop string ended the answer)
     */
    RemoteStepper(CloudLink link, CloudGuard guard, StepCharge charge, Frame.Open open, Frame.Decoding decoding,
                  int answerSoFar, KvSequence head, Codec codec, int width, java.util.function.IntConsumer dropped) {
        this.dropped = dropped;
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
        } else if (streaming()) {
            if (tokens.length != 1 || tokens[0] != lastStreamed) {
                throw new LinkException("a streamed sequence continues with the token the cloud sent, not " + tokens.length
                        + " others");
            }
            grantCredit();
            reply = guard.nextToken(session.next());
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
        if (streaming()) {
            lastStreamed = token.id();
            unacknowledged++;
        }
        return new TokenChoice(token.id(), token.logprob(), Float.NaN, Float.NaN);
    }

    private boolean streaming() {
        return open.delivery() == Delivery.STREAM;
    }

    private void grantCredit() {
        if (unacknowledged >= Math.max(1, open.credits() / 2) && !session.ended()) {
            bytesUp += session.send(new Frame.Credit(unacknowledged), "control");
            unacknowledged = 0;
        }
    }

    /**
     * One verification round of a VERIFY session: {@code ids[0]} is the token the session settled
     * on last (not yet run), {@code ids[1..]} the draft. Sends the draft (and in SPLIT mode the head's
     * activations of the same positions), waits for the verdict, charges it, and rolls the head's
     * cache back to what stands.
     */
    Frame.Verified verify(int[] ids, int vocabSize, float[] q) {
        if (session == null || open.delivery() != Delivery.VERIFY) {
            throw new IllegalStateException("verify needs an open VERIFY session");
        }
        bytesUp = 0;
        int start = length;
        bytesUp += session.send(new Frame.Draft(start, ids, vocabSize, q), "draft");
        if (head != null) {
            long[] longs = new long[ids.length];
            for (int i = 0; i < ids.length; i++) {
                longs[i] = ids[i];
            }
            sendActivations(longs);
        }
        Frame reply = guard.nextToken(session.next());
        if (!(reply instanceof Frame.Verified verified)) {
            throw new LinkException("the cloud sent " + reply.type() + " where a verification was due");
        }
        if (verified.accepted() > ids.length - 1) {
            throw new LinkException("the cloud accepted " + verified.accepted() + " of " + (ids.length - 1) + " drafted tokens");
        }
        length = start + 1 + verified.accepted();
        if (head != null) {
            head.truncate(length);
        }
        if (verified.finishReason().isPresent()) {
            session.endedByCloud();
        }
        if (!charge.charge(verified.computeMicros(), bytesUp)) {
            throw new LinkException("the request's share of the cloud budget is used up");
        }
        return verified;
    }

    /** Bytes this stepper sent for its last step or round. */
    long lastBytesUp() {
        return bytesUp;
    }


    private void sendInput(long[] tokens) {
        if (head == null) {
            int[] ids = new int[tokens.length];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = Math.toIntExact(tokens[i]);
            }
            bytesUp += session.send(new Frame.Tokens(length, ids), "tokens");
        } else {
            sendActivations(tokens);
        }
    }

    private void sendActivations(long[] tokens) {
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

    @Override
    public int length() {
        return length;
    }

    @Override
    public void close() {
        if (session != null) {
            if (streaming()) {
                // tokens the cloud made past the end of the answer (a stop string, a cancel): counted, never used
                dropped.accept(session.cancel());
            }
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
