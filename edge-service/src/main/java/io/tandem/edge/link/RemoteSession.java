package io.tandem.edge.link;

import io.tandem.model.wire.Frame;
import io.tandem.model.wire.SessionError;
import java.util.ArrayDeque;
import java.util.Queue;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

/**
 * One session on a shared link, as the generating thread sees it: send a frame, wait for the
 * answer. Link loss and a cloud error surface as {@link LinkException}.
 */
final class RemoteSession implements AutoCloseable {

    private record Lost(String reason) {
    }

    private final long id;
    private final LinkConnection connection;
    private final Queue<Object> inbox = new ArrayDeque<>();
    private MonoSink<Frame> waiting;
    private long sequence;
    private volatile boolean ended;

    RemoteSession(long id, LinkConnection connection) {
        this.id = id;
        this.connection = connection;
        connection.register(this);
    }

    long id() {
        return id;
    }

    /** Sends a frame; returns its size in bytes. */
    int send(Frame frame, String kind) {
        return connection.send(id, sequence++, frame, kind);
    }

    /**
     * The next frame from the cloud for this session, when it arrives; an Error frame or the loss
     * of the link fails it with a LinkException. Cancelling (a time limit) leaves the frame, should
     * it come later, for the next call.
     */
    Mono<Frame> next() {
        return Mono.create(sink -> {
            Object ready;
            synchronized (this) {
                ready = inbox.poll();
                if (ready == null) {
                    waiting = sink;
                    sink.onCancel(() -> {
                        synchronized (this) {
                            if (waiting == sink) {
                                waiting = null;
                            }
                        }
                    });
                    return;
                }
            }
            complete(sink, ready);
        });
    }

    private void complete(MonoSink<Frame> sink, Object next) {
        if (next instanceof Lost lost) {
            ended = true;
            sink.error(new LinkException(lost.reason()));
            return;
        }
        Frame frame = (Frame) next;
        if (frame instanceof Frame.Error error) {
            ended = true;
            sink.error(new LinkException("the cloud ended the session: " + SessionError.of(error.code()) + " "
                    + error.message()));
            return;
        }
        if (frame instanceof Frame.Close) {
            ended = true;
        }
        sink.success(frame);
    }

    boolean ended() {
        return ended;
    }

    /**
     * Stops a session the cloud is still producing for (a stop string matched, the client went
     * away): sends Cancel, after which the cloud frees the session and answers Close. Returns the
     * tokens that had arrived and will never be used; the ones still on their way are dropped on
     * arrival (the session is unregistered on close).
     */
    int cancel() {
        int unused;
        synchronized (this) {
            unused = (int) inbox.stream().filter(f -> f instanceof Frame.Token).count();
            inbox.clear();
        }
        if (!ended && connection.isOpen()) {
            ended = true;
            try {
                send(new Frame.Cancel(), "control");
            } catch (LinkException e) {
                // the link went down meanwhile: the cloud frees the session on its own
            }
        }
        return unused;
    }

    /** The cloud finished the session on its side (a token with a finish reason): nothing to close. */
    void endedByCloud() {
        ended = true;
    }

    void deliver(Frame frame) {
        arrived(frame);
    }

    void linkLost(String reason) {
        arrived(new Lost(reason));
    }

    private void arrived(Object next) {
        MonoSink<Frame> sink;
        synchronized (this) {
            sink = waiting;
            waiting = null;
            if (sink == null) {
                inbox.add(next);
                return;
            }
        }
        complete(sink, next);
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
