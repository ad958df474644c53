package io.tandem.cloud.session;

import io.tandem.cloud.pool.PoolSequence;
import io.tandem.cloud.pool.SessionRefusedException;
import io.tandem.model.generate.FinishReason;
import io.tandem.model.runtime.ContextFullException;
import io.tandem.model.runtime.StageInput;
import io.tandem.model.sampling.Sampler;
import io.tandem.model.sampling.TokenChoice;
import io.tandem.model.speculative.SpeculativeVerifier;
import io.tandem.model.wire.ActivationCodec;
import io.tandem.model.wire.Delivery;
import io.tandem.model.wire.Frame;
import io.tandem.model.wire.Mode;
import io.tandem.model.wire.SessionError;
import io.tandem.model.wire.WireException;
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
    private final long openedMillis;
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
    /** The protocol version the agent opened the session in: every answer goes out in it. */
    private final int version;
    /** STREAM: tokens the cloud may still send; a step waits for credit when this is 0. */
    private int credits;
    private boolean streaming;
    private boolean awaitingCredit;
    private int lastToken;
    private java.util.Set<Integer> endTokens = java.util.Set.of();
    /** VERIFY: the rule, and a SPLIT session's draft waiting for its activations. */
    private SpeculativeVerifier verifier;
    private Frame.Draft pendingDraft;
    private long heldPositions;

    AgentSession(long id, String agent, AgentConnection.SessionContext context, AgentConnection connection,
                 int version) {
        this.version = version;
        this.id = id;
        this.agent = agent;
        this.context = context;
        this.connection = connection;
        this.executor = new SerialExecutor(context.workers());
        this.lastActivityMillis = context.clock().millis();
        this.openedMillis = lastActivityMillis;
    }

    long openedMillis() {
        return openedMillis;
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

    /** The session reached the maximum lifetime: its slot goes back however busy it is. */
    void expireLease() {
        executor.execute(() -> {
            if (!ended) {
                context.metrics().leaseExpired();
            }
            fail(SessionError.LEASE_EXPIRED, "the session reached its maximum lifetime of "
                + context.maxLifetime().toSeconds() + " s; its state was freed (open a new one to go on)");
        });
    }

    /** Ends the session with {@code error}, in order with its other work. */
    void refuse(SessionError error, String message) {
        executor.execute(() -> fail(error, message));
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
                case Frame.Credit c -> credit(c);
                case Frame.Draft d -> draft(d);
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
                case Frame.Decoding d -> decoding(d);
                case Frame.Verified v -> fail(SessionError.BAD_INPUT, "Verified only travels from the cloud to the edge");
            }
        } catch (WireException e) {
            // a payload that breaks the wire format (zstd, int8 -128): the agent's fault, not the cloud's
            connection.rejectFrame(e);
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
        if (request.delivery() == Delivery.STREAM && request.mode() instanceof Mode.Split) {
            throw new SessionRefusedException(SessionError.BAD_MODE, "a STREAM session runs the whole model: in SPLIT"
                    + " mode every next input comes from the edge's layers");
        }
        sequence = request.delivery() == Delivery.VERIFY
                ? context.pool().openForVerification(request.manifestHash(), request.mode())
                : context.pool().open(request.manifestHash(), request.mode(), agent);
        sampler = new Sampler(request.sampling(), sequence.vocabSize());
        if (request.delivery() == Delivery.VERIFY) {
            verifier = new SpeculativeVerifier(sampler, sequence.vocabSize());
        }
        credits = request.credits();
        endTokens = java.util.Arrays.stream(request.endTokens()).boxed().collect(java.util.stream.Collectors.toUnmodifiableSet());
        open = request;
        context.metrics().sessionOpened(request.mode() instanceof Mode.Split ? "split" : "full");
        lastActivityMillis = context.clock().millis();
        send(new Frame.Opened(sequence.firstLayer(), sequence.endLayer(), sequence.manifestHash()));
    }

    /** How this session chooses its tokens beyond plain sampling: before its first step only. */
    private void decoding(Frame.Decoding decoding) {
        requireOpen();
        if (sequence.length() > 0 || produced > 0) {
            throw new IllegalArgumentException("Decoding comes after Open and before the first input");
        }
        if (open.delivery() == Delivery.VERIFY) {
            // the speculative rule verifies drafts against plain sampling; shaped choices go token by token
            throw new IllegalArgumentException("Decoding does not combine with VERIFY delivery: open the session"
                    + " LOCKSTEP or STREAM");
        }
        var mask = decoding.constraint().map(c -> sequence.vocabulary().compile(c).newMask(open.maxTokens()
                + decoding.replay().length)).orElse(null);
        sampler = new Sampler(open.sampling(), sequence.vocabSize(), decoding.rules(), mask, 0);
        for (int token : decoding.replay()) {
            if (token >= sequence.vocabSize()) {
                throw new IllegalArgumentException("replayed token " + token + " is outside the vocabulary of "
                        + sequence.vocabSize());
            }
            sampler.replay(token);
        }
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
        StageInput input = new StageInput.Hidden(hiddenBytes, activations.positions());
        Frame.Draft draft = pendingDraft;
        if (draft != null) {
            pendingDraft = null;
            if (activations.positions() != draft.ids().length) {
                throw new IllegalArgumentException("the draft has " + draft.ids().length + " positions, its activations "
                        + activations.positions());
            }
            verify(draft, input);
            return;
        }
        run(input);
    }

    private void credit(Frame.Credit credit) {
        requireOpen();
        if (open.delivery() != Delivery.STREAM) {
            throw new IllegalArgumentException("Credit is for STREAM sessions; this one is " + open.delivery());
        }
        credits = Math.addExact(credits, credit.tokens());
        if (awaitingCredit) {
            awaitingCredit = false;
            executor.execute(this::streamStep);
        }
    }

    /** One decode step of a STREAM session, each its own task so that Cancel and Credit get in between. */
    private void streamStep() {
        if (ended) {
            return;
        }
        if (credits == 0) {
            awaitingCredit = true;
            return;
        }
        try {
            run(new StageInput.Tokens(new long[] {lastToken}));
        } catch (ContextFullException e) {
            fail(SessionError.CONTEXT_FULL, e.getMessage());
        } catch (RuntimeException e) {
            log.warn("agent {} session {} failed while streaming", agent, id, e);
            fail(SessionError.INTERNAL, "the step failed in the cloud: " + e.getMessage());
        }
    }

    private void draft(Frame.Draft draft) {
        requireOpen();
        if (open.delivery() != Delivery.VERIFY) {
            throw new IllegalArgumentException("Draft is for VERIFY sessions; this one is " + open.delivery());
        }
        if (produced == 0) {
            throw new IllegalArgumentException("a draft follows the prompt's token: send the prompt first");
        }
        if (pendingDraft != null) {
            throw new IllegalArgumentException("a draft is already waiting for its activations");
        }
        requirePosition(draft.startPosition());
        if (!open.sampling().isGreedy() && !draft.sampled()) {
            throw new IllegalArgumentException("sampled verification needs the draft's probabilities");
        }
        if (draft.sampled() && draft.vocabSize() != sequence.vocabSize()) {
            throw new IllegalArgumentException("the draft's vocabulary has " + draft.vocabSize() + " tokens, the model "
                    + sequence.vocabSize());
        }
        if (sequence.inputWidth() != 0) {
            pendingDraft = draft; // its activations come next
            return;
        }
        long[] ids = new long[draft.ids().length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = draft.ids()[i];
        }
        verify(draft, new StageInput.Tokens(ids));
    }

    /** Runs the draft's positions, applies the speculative rule, rolls the cache back to what stands. */
    private void verify(Frame.Draft draft, StageInput input) {
        long start = System.nanoTime();
        FloatBuffer rows = sequence.forwardRows(input);
        int[] drafted = java.util.Arrays.copyOfRange(draft.ids(), 1, draft.ids().length);
        SpeculativeVerifier.Outcome outcome = verifier.verify(rows, drafted, draft.draftProbabilities());
        sequence.truncate(draft.startPosition() + 1 + outcome.accepted());
        long elapsed = System.nanoTime() - start;
        context.metrics().step(elapsed, input.positions());
        context.metrics().verified(drafted.length, outcome.accepted());
        heldPositions(sequence.length());
        lastActivityMillis = context.clock().millis();
        produced += outcome.accepted() + 1;
        Optional<FinishReason> finish = produced >= open.maxTokens() ? Optional.of(FinishReason.MAX_TOKENS)
                : sequence.length() + 1 >= sequence.contextLength() ? Optional.of(FinishReason.CONTEXT_FULL)
                : Optional.empty();
        if (finish.isPresent()) {
            end("finished");
        }
        send(new Frame.Verified(outcome.accepted(), outcome.next(), outcome.logprob(), finish,
                (int) Math.min(Integer.MAX_VALUE, elapsed / 1_000)));
    }

    private void heldPositions(long positions) {
        context.metrics().kvPositions((positions - heldPositions) * (sequence.endLayer() - sequence.firstLayer()));
        heldPositions = positions;
    }

    private void step(Frame.Tokens tokens) {
        requireOpen();
        if (sequence.inputWidth() != 0) {
            throw new IllegalArgumentException("this session starts at layer " + sequence.firstLayer()
                    + ": send Activations, not Tokens");
        }
        requirePosition(tokens.startPosition());
        if (open.delivery() == Delivery.STREAM && streaming) {
            throw new IllegalArgumentException("a STREAM session takes its prompt once; the cloud feeds its own tokens");
        }
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
        heldPositions(sequence.length());
        lastActivityMillis = context.clock().millis();
        produced++;
        boolean stream = open.delivery() == Delivery.STREAM;
        Optional<FinishReason> finish = produced >= open.maxTokens() ? Optional.of(FinishReason.MAX_TOKENS)
                : sequence.length() >= sequence.contextLength() ? Optional.of(FinishReason.CONTEXT_FULL)
                : stream && endTokens.contains(choice.token()) ? Optional.of(FinishReason.END_OF_SEQUENCE)
                : Optional.empty();
        // end first, so the agent never reads the last token while the slot is still held
        if (finish.isPresent()) {
            end("finished");
        }
        send(new Frame.Token(choice.token(), choice.logprob(), finish,
                (int) Math.min(Integer.MAX_VALUE, compute / 1_000)));
        if (stream) {
            streaming = true;
            credits--;
            context.metrics().streamed();
            lastToken = choice.token();
            if (finish.isEmpty()) {
                executor.execute(this::streamStep);
            }
        }
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
        connection.send(id, outSequence++, frame, version);
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
            heldPositions(0);
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
