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
import java.time.Duration;

/**
 * A sequence whose tokens the cloud chooses. In SPLIT mode the edge runs the first layers itself
 * ({@code head}) and sends their output; in FULL mode it sends token ids. One round trip per step.
 * The session opens on the first step, so a cloud that is down costs no more than that step.
 */
final class RemoteStepper implements TokenStepper {

    private final CloudLink link;
    private final Frame.Open open;
    private final KvSequence head;
    private final Codec codec;
    private final int width;
    private final Duration firstTokenTimeout;
    private final Duration tokenTimeout;
    private RemoteSession session;
    private float[] hidden = new float[0];
    private int length;

    /** @param head the edge's layers [0, k) for SPLIT, owned from now on; null for FULL */
    RemoteStepper(CloudLink link, Frame.Open open, KvSequence head, Codec codec, int width, Duration firstTokenTimeout,
                  Duration tokenTimeout) {
        this.link = link;
        this.open = open;
        this.head = head;
        this.codec = codec;
        this.width = width;
        this.firstTokenTimeout = firstTokenTimeout;
        this.tokenTimeout = tokenTimeout;
    }

    @Override
    public TokenChoice next(long[] tokens) {
        boolean first = session == null;
        if (first) {
            session = link.openSession();
            session.send(open, "control");
        }
        if (head == null) {
            int[] ids = new int[tokens.length];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = Math.toIntExact(tokens[i]);
            }
            session.send(new Frame.Tokens(length, ids), "tokens");
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
            session.send(frame, codec.label());
        }
        Duration wait = first ? firstTokenTimeout : tokenTimeout;
        Frame reply = session.await(wait);
        if (first) {
            if (!(reply instanceof Frame.Opened)) {
                throw new LinkException("the cloud answered Open with " + reply.type());
            }
            reply = session.await(wait);
        }
        if (!(reply instanceof Frame.Token token)) {
            throw new LinkException("the cloud sent " + reply.type() + " where a token was due");
        }
        length += tokens.length;
        if (token.finishReason().isPresent()) {
            session.endedByCloud();
        }
        return new TokenChoice(token.id(), token.logprob(), Float.NaN, Float.NaN);
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
        if (head != null) {
            head.close();
        }
    }
}
