package io.tandem.cloud.session;

import io.tandem.cloud.pool.PoolSequence;
import io.tandem.cloud.pool.SessionRefusedException;
import io.tandem.model.generate.FinishReason;
import io.tandem.model.runtime.ContextFullException;
import io.tandem.model.runtime.StageInput;
import io.tandem.model.sampling.Sampler;
import io.tandem.model.sampling.TokenChoice;
import io.tandem.model.wire.ActivationCodec;
import io.tandem.model.wire.Frame;
import io.tandem.model.wire.Mode;
import io.tandem.model.wire.SessionError;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One session: the sequence over the cloud's layers, the sampler, and the counters the protocol
 * checks. Every state change runs on the session's serial executor, including the end (idle,
 * disconnect), so a sequence's native memory is never freed under a running step.
 */
final class AgentSession {

    private static final Logger log = LoggerFactory.getLogger(AgentSession.class);

    private final long id;
    private final String agent;
    private final AgentConnection.SessionContext context;
    private final AgentConnection connection;
    private final SerialExecutor executor;
    private volatile long lastActivityMillis;
    /** Checked on the receiving thread, in arrival order. */
    private long expectedSequence;
    private long outSequence;
    private Frame.Open open;
    private PoolSequence sequence;
    private Sampler sampler;
    private boolean slotTaken;
    private boolean ended;
    private int produced;
    private float[] hidden = new float[0];
    private ByteBuffer hiddenBytes = ByteBuffer.allocate(0);

    AgentSession(long id, String agent, AgentConnection.SessionContext context, AgentConnection connection) {
        this.id = id;
        this.agent = agent;
        this.context = context;
        this.connection = connection;
        this.executor = new SerialExecutor(context.workers());
        this.lastActivityMillis = context.clock().millis();
    }

    long id() {
        return id;
    }

    long lastActivityMillis() {
        return lastActivityMillis;
    }

    /** A frame in arrival order; called on the receiving thread. */
    void accept(long sequenceNumber, Frame frame) {
        lastActivityMillis = context.clock().millis();
        if (sequenceNumber != expectedSequence) {
            long expected = expectedSequence;
            executor.execute(() -> fail(SessionError.BAD_INPUT, "frame sequence " + sequenceNumber
                    + " where " + expected + " was next: a frame was lost or replayed"));
            return;
        }
        expectedSequence++;
        executor.execute(() -> handle(frame));
    }

    void expire() {
        executor.execute(() -> fail(SessionError.IDLE_TIMEOUT, "no frame for "
                + context.idleTimeout().toSeconds() + " s; the session's state was freed"));
    }

    void abandon() {
        executor.execute(() -> end("disconnected"));
    }

    private void handle(Frame frame) {
        if (ended) {
            return;
        }
        try {
            switch (frame) {
                case Frame.Open o -> open(o);
                case Frame.Activations a -> step(a);
                case Frame.Tokens t -> step(t);
                case Frame.Cancel c -> {
                    end("cancelled");
                    send(new Frame.Close());
                }
                case Frame.Close c -> end("closed");
                case Frame.Error e -> {
                    log.info("agent {} session {} reported error {}: {}", agent, id, e.code(), e.message());
                    end("peer-error");
                }
                case Frame.Opened o -> fail(SessionError.BAD_INPUT, "Opened only travels from the cloud to the edge");
                case Frame.Token t -> fail(SessionError.BAD_INPUT, "Token only travels from the cloud to the edge");
                case Frame.Load l -> fail(SessionError.BAD_INPUT, "Load only travels from the cloud to the edge");
            }
        } catch (SessionRefusedException e) {
            fail(e.error(), e.getMessage());
        } catch (ContextFullException e) {
            fail(SessionError.CONTEXT_FULL, e.getMessage());
        } catch (IllegalArgumentException e) {
            fail(SessionError.BAD_INPUT, e.getMessage());
        } catch (RuntimeException e) {
            log.warn("agent {} session {} failed", agent, id, e);
            fail(SessionError.INTERNAL, "the step failed in the cloud: " + e.getMessage());
        }
    }

    private void open(Frame.Open request) {
        String refusal = context.limits().tryAcquire(agent);
        if (refusal != null) {
            fail(SessionError.SESSION_LIMIT, refusal);
            return;
        }
        slotTaken = true;
        sequence = context.pool().open(request.manifestHash(), request.mode(), agent);
        sampler = new Sampler(request.sampling(), sequence.vocabSize());
        open = request;
        context.metrics().sessionOpened(request.mode() instanceof Mode.Split ? "split" : "full");
        lastActivityMillis = context.clock().millis();
        send(new Frame.Opened(sequence.firstLayer(), sequence.endLayer(), sequence.manifestHash()));
    }

    private void step(Frame.Activations activations) {
        requireOpen();
        if (sequence.inputWidth() == 0) {
            throw new IllegalArgumentException("this session runs the whole model: send Tokens, not Activations");
        }
        if (activations.width() != sequence.inputWidth()) {
            throw new IllegalArgumentException("activations are " + activations.width() + " wide; layer "
                    + sequence.firstLayer() + " takes " + sequence.inputWidth());
        }
        requirePosition(activations.startPosition());
        int count = activations.positions() * activations.width();
        if (hidden.length < count) {
            hidden = new float[count];
            hiddenBytes = ByteBuffer.allocate(count * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        }
        ActivationCodec.decodeInto(activations, hidden, 0);
        hiddenBytes.clear();
        hiddenBytes.asFloatBuffer().put(hidden, 0, count);
        hiddenBytes.limit(count * Float.BYTES);
        run(new StageInput.Hidden(hiddenBytes, activations.positions()));
    }

    private void step(Frame.Tokens tokens) {
        requireOpen();
        if (sequence.inputWidth() != 0) {
            throw new IllegalArgumentException("this session starts at layer " + sequence.firstLayer()
                    + ": send Activations, not Tokens");
        }
        requirePosition(tokens.startPosition());
        long[] ids = new long[tokens.ids().length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = tokens.ids()[i];
        }
        run(new StageInput.Tokens(ids));
    }

    private void run(StageInput input) {
        if (produced >= open.maxTokens()) {
            throw new IllegalArgumentException("the session already produced its " + open.maxTokens() + " tokens");
        }
        long start = System.nanoTime();
        FloatBuffer logits = sequence.forward(input);
        TokenChoice choice = sampler.sample(logits);
        long elapsed = System.nanoTime() - start;
        // what the step cost the accelerator (its share of batched passes): the Token frame bills it and
        // the Load frame's step time, which the edge's estimates use, must be in the same unit
        long compute = sequence.computeNanos(elapsed);
        context.metrics().step(compute, input.positions());
        lastActivityMillis = context.clock().millis();
        produced++;
        Optional<FinishReason> finish = produced >= open.maxTokens() ? Optional.of(FinishReason.MAX_TOKENS)
                : sequence.length() >= sequence.contextLength() ? Optional.of(FinishReason.CONTEXT_FULL)
                : Optional.empty();
        // end first, so the agent never reads the last token while the slot is still held
        if (finish.isPresent()) {
            end("finished");
        }
        send(new Frame.Token(choice.token(), choice.logprob(), finish,
                (int) Math.min(Integer.MAX_VALUE, compute / 1_000)));
    }

    private void requireOpen() {
        if (sequence == null) {
            throw new IllegalArgumentException("the session is not open");
        }
    }

    private void requirePosition(int start) {
        if (start != sequence.length()) {
            throw new IllegalArgumentException("input starts at position " + start + " but the session has "
                    + sequence.length() + " positions");
        }
    }

    private void send(Frame frame) {
        connection.send(id, outSequence++, frame);
    }

    private void fail(SessionError error, String message) {
        if (ended) {
            return;
        }
        context.metrics().sessionRefused(error.name());
        end(error.name().toLowerCase(java.util.Locale.ROOT));
        send(error.frame(message));
    }

    private void end(String reason) {
        if (ended) {
            return;
        }
        ended = true;
        if (sequence != null) {
            sequence.close();
            sequence = null;
        }
        if (slotTaken) {
            context.limits().release(agent);
            slotTaken = false;
        }
        connection.ended(this);
        context.metrics().sessionEnded(reason);
    }
}
