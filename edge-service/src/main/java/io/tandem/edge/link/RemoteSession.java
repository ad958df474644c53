package io.tandem.edge.link;

import io.tandem.model.wire.Frame;
import io.tandem.model.wire.SessionError;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One session on a shared link, as the generating thread sees it: send a frame, wait for the
 * answer. Link loss, a cloud error and a timeout all surface as {@link LinkException}.
 */
final class RemoteSession implements AutoCloseable {

    private record Lost(String reason) {
    }

    private final long id;
    private final LinkConnection connection;
    private final BlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
    private long sequence;
    private boolean ended;

    RemoteSession(long id, LinkConnection connection) {
        this.id = id;
        this.connection = connection;
        connection.register(this);
    }

    long id() {
        return id;
    }

    void send(Frame frame, String kind) {
        connection.send(id, sequence++, frame, kind);
    }

    /** The next frame from the cloud for this session; an Error frame is thrown as a LinkException. */
    Frame await(Duration timeout) {
        Object next;
        try {
            next = inbox.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LinkException("interrupted while waiting for the cloud");
        }
        if (next == null) {
            throw new LinkException("the cloud sent nothing for " + timeout.toMillis() + " ms");
        }
        if (next instanceof Lost lost) {
            ended = true;
            throw new LinkException(lost.reason());
        }
        Frame frame = (Frame) next;
        if (frame instanceof Frame.Error error) {
            ended = true;
            throw new LinkException("the cloud ended the session: " + SessionError.of(error.code()) + " " + error.message());
        }
        if (frame instanceof Frame.Close) {
            ended = true;
        }
        return frame;
    }

    /** The cloud finished the session on its side (a token with a finish reason): nothing to close. */
    void endedByCloud() {
        ended = true;
    }

    void deliver(Frame frame) {
        inbox.add(frame);
    }

    void linkLost(String reason) {
        inbox.add(new Lost(reason));
    }

    @Override
    public void close() {
        connection.unregister(this);
        if (!ended && connection.isOpen()) {
            ended = true;
            try {
                send(new Frame.Close(), "control");
            } catch (LinkException e) {
                // the link went down meanwhile: the cloud frees the session on its own
            }
        }
    }
}
