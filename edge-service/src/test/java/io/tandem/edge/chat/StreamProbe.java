package io.tandem.edge.chat;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.http.codec.ServerSentEvent;
import reactor.core.CoreSubscriber;
import reactor.core.Scannable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Operators;

/** Test-only: per streamed answer, the demand it got, what it sent, and the writer chain below it. */
final class StreamProbe {

    static final class Record {
        final AtomicLong requested = new AtomicLong();
        final AtomicLong emitted = new AtomicLong();
        volatile String lastRequestThread = "";
        volatile String lastEmitThread = "";
        volatile String terminal = "open";
        volatile CoreSubscriber<?> downstream;
    }

    static final Map<String, Record> RECORDS = new ConcurrentHashMap<>();

    static void install() {
        CompletionController.streamProbe = (id, flux) -> {
            Record r = new Record();
            RECORDS.put(id, r);
            return flux.doOnRequest(n -> {
                        r.requested.addAndGet(n);
                        r.lastRequestThread = Thread.currentThread().getName();
                    })
                    .doOnNext(e -> {
                        r.emitted.incrementAndGet();
                        r.lastEmitThread = Thread.currentThread().getName();
                    })
                    .doOnComplete(() -> r.terminal = "complete")
                    .doOnCancel(() -> r.terminal = "cancelled")
                    .doOnError(e -> r.terminal = "error " + e)
                    .transform(Operators.<ServerSentEvent<String>, ServerSentEvent<String>>lift((sc, sub) -> {
                        r.downstream = sub;
                        return sub;
                    }));
        };
    }

    /**
     * Widens race windows: every non-fusable operator assembled from now on (the controller's, Spring's
     * SSE writer's, Reactor Netty's send path) gets a subscriber that sometimes pauses for a few
     * microseconds or yields before passing a signal or a request on. Fusable operators are left alone,
     * so that fusion (the sink into flatMapIterable) is as in production.
     */
    static void installJitter() {
        reactor.core.publisher.Hooks.onEachOperator("tandem-stall-jitter", publisher ->
                publisher instanceof reactor.core.Fuseable ? publisher
                        : Operators.<Object, Object>lift((sc, sub) -> new Jitter<>(sub)).apply(publisher));
    }

    static void uninstallJitter() {
        reactor.core.publisher.Hooks.resetOnEachOperator("tandem-stall-jitter");
    }

    static void pause() {
        var random = java.util.concurrent.ThreadLocalRandom.current();
        int dice = random.nextInt(16);
        if (dice == 0) {
            Thread.yield();
        } else if (dice == 1) {
            long until = System.nanoTime() + random.nextInt(50_000);
            while (System.nanoTime() < until) {
                Thread.onSpinWait();
            }
        }
    }

    static final class Jitter<T> implements CoreSubscriber<T>, org.reactivestreams.Subscription {
        final CoreSubscriber<? super T> actual;
        org.reactivestreams.Subscription s;

        Jitter(CoreSubscriber<? super T> actual) {
            this.actual = actual;
        }

        @Override
        public reactor.util.context.Context currentContext() {
            return actual.currentContext();
        }

        @Override
        public void onSubscribe(org.reactivestreams.Subscription s) {
            this.s = s;
            actual.onSubscribe(this);
        }

        @Override
        public void onNext(T t) {
            pause();
            actual.onNext(t);
        }

        @Override
        public void onError(Throwable t) {
            pause();
            actual.onError(t);
        }

        @Override
        public void onComplete() {
            pause();
            actual.onComplete();
        }

        @Override
        public void request(long n) {
            pause();
            s.request(n);
        }

        @Override
        public void cancel() {
            s.cancel();
        }
    }

    static void forget(String id) {
        if (id != null) {
            RECORDS.remove(id);
        }
    }

    static String describe(String id) {
        Record r = id == null ? null : RECORDS.get(id);
        if (r == null) {
            return "no probe record for " + id;
        }
        StringBuilder out = new StringBuilder("probe: requested=" + r.requested + " emitted=" + r.emitted
                + " terminal=" + r.terminal + " lastRequestThread=" + r.lastRequestThread
                + " lastEmitThread=" + r.lastEmitThread + "\n");
        Object at = r.downstream;
        for (int hop = 0; hop < 10 && at != null; hop++) {
            out.append("  [").append(hop).append("] ").append(at.getClass().getName()).append('\n');
            dumpFields(at, out, "      ", 1);
            // Spring's write barrier hands on to its writeSubscriber; operators keep theirs in "actual"
            // (Scannable.scan(ACTUAL) would hide a subscriber that is not Scannable, such as the barrier)
            Object next = field(at, "writeSubscriber");
            if (next == null) {
                next = field(at, "actual");
            }
            if (next == null && at instanceof Scannable s) {
                Scannable actual = s.scan(Scannable.Attr.ACTUAL);
                next = actual == null || !actual.isScanAvailable() ? null : actual;
            }
            at = next;
        }
        return out.toString();
    }

    private static Object field(Object o, String name) {
        for (Class<?> c = o.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
            try {
                Field f = c.getDeclaredField(name);
                f.setAccessible(true);
                return f.get(o);
            } catch (ReflectiveOperationException | RuntimeException ignored) {
                // not here
            }
        }
        return null;
    }

    private static void dumpFields(Object o, StringBuilder out, String indent, int depth) {
        for (Class<?> c = o.getClass(); c != null && c != Object.class && c != ThreadLocal.class; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers())) {
                    continue;
                }
                Object v;
                try {
                    f.setAccessible(true);
                    v = f.get(o);
                } catch (ReflectiveOperationException | RuntimeException e) {
                    continue;
                }
                out.append(indent).append(f.getName()).append('=').append(show(v)).append('\n');
                if (depth > 0 && v != null && (f.getName().equals("inner") || f.getName().equals("subscription")
                        || f.getName().equals("s") || f.getName().equals("ctx"))) {
                    if (v instanceof io.netty.channel.ChannelHandlerContext ctx) {
                        var ch = ctx.channel();
                        var buf = ch.unsafe().outboundBuffer();
                        out.append(indent).append("  channel active=").append(ch.isActive()).append(" writable=")
                                .append(ch.isWritable()).append(" loop=").append(ch.eventLoop())
                                .append(" outbound size=").append(buf == null ? "-" : buf.size())
                                .append(" pendingBytes=").append(buf == null ? "-" : buf.totalPendingWriteBytes())
                                .append(" pipeline=").append(ch.pipeline().names()).append('\n');
                    } else {
                        dumpFields(v, out, indent + "    ", depth - 1);
                    }
                }
            }
        }
    }

    private static String show(Object v) {
        if (v == null || v instanceof Number || v instanceof Boolean || v instanceof CharSequence || v instanceof Enum<?>
                || v instanceof Character) {
            return String.valueOf(v);
        }
        if (v instanceof Queue<?> q) {
            try {
                return v.getClass().getSimpleName() + "(size " + q.size() + ")";
            } catch (RuntimeException e) {
                return v.getClass().getSimpleName();
            }
        }
        return v.getClass().getName() + "@" + Integer.toHexString(System.identityHashCode(v));
    }
}
