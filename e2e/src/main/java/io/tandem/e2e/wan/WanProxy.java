package io.tandem.e2e.wan;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A TCP proxy that behaves like a wide-area link, for tests and benchmarks (the kernels here have
 * no netem): every byte from the client is delivered to the server after the up delay and every
 * byte back after the down delay, with jitter, at no more than each direction's rate; and on
 * command it cuts the link (bytes vanish, connections stay open, as when a route dies), resets
 * every connection (TCP RST), or refuses new ones. Modelled on toxiproxy's latency, bandwidth,
 * timeout and reset_peer toxics.
 *
 * <p>The model per direction is a serialising link followed by a propagation delay: a chunk read
 * at t leaves at {@code max(t, previous departure) + bits / rate} and arrives {@code delay +- jitter}
 * later, never before the chunk before it. Each direction buffers at most
 * {@link #bufferBytes(long, long)}, so a receiver that stops reading stops the sender, as TCP's
 * window would.
 */
public final class WanProxy implements AutoCloseable {

    /** Bytes read per chunk: small enough that pacing is smooth at a few Mbit/s. */
    static final int CHUNK = 4096;

    private final ServerSocket listener;
    private final InetSocketAddress upstream;
    private final Set<Link> links = ConcurrentHashMap.newKeySet();
    private final AtomicLong bytesUp = new AtomicLong();
    private final AtomicLong bytesDown = new AtomicLong();
    private final AtomicLong connections = new AtomicLong();
    private final Thread acceptor;
    private volatile WanSettings settings;
    private volatile boolean cut;
    private volatile boolean refusing;
    private volatile boolean closed;

    private WanProxy(ServerSocket listener, InetSocketAddress upstream, WanSettings settings) {
        this.listener = listener;
        this.upstream = upstream;
        this.settings = settings;
        this.acceptor = Thread.ofPlatform().daemon().name("wan-proxy-accept-" + listener.getLocalPort())
                .start(this::acceptLoop);
    }

    /** Listens on {@code listenPort} of the loopback interface (0: any free port) and relays to {@code upstream}. */
    public static WanProxy start(int listenPort, InetSocketAddress upstream, WanSettings settings) {
        return start(new InetSocketAddress(InetAddress.getLoopbackAddress(), listenPort), upstream, settings);
    }

    public static WanProxy start(InetSocketAddress listen, InetSocketAddress upstream, WanSettings settings) {
        try {
            ServerSocket socket = new ServerSocket();
            socket.setReuseAddress(true);
            socket.bind(listen, 64);
            return new WanProxy(socket, upstream, settings);
        } catch (IOException e) {
            throw new IllegalStateException("cannot listen on " + listen + ": " + e.getMessage(), e);
        }
    }

    public int port() {
        return listener.getLocalPort();
    }

    public WanSettings settings() {
        return settings;
    }

    /** New settings apply to every byte read from now on, on open connections too. */
    public void settings(WanSettings next) {
        this.settings = next;
    }

    /** Bytes the server received through the proxy (client to server). */
    public long bytesUp() {
        return bytesUp.get();
    }

    /** Bytes the client received through the proxy (server to client). */
    public long bytesDown() {
        return bytesDown.get();
    }

    /** Connections accepted so far. */
    public long connections() {
        return connections.get();
    }

    public int openConnections() {
        return links.size();
    }

    /** From now on, bytes in either direction are dropped and connections stay open: a dead route. */
    public void cut() {
        cut = true;
    }

    /** Bytes flow again (what was dropped while cut stays lost) and new connections are accepted. */
    public void restore() {
        cut = false;
        refusing = false;
    }

    /** New connections are closed as soon as they are accepted, until {@link #restore()}. */
    public void refuseNew() {
        refusing = true;
    }

    /** Resets every open connection with a TCP RST, both sides, as toxiproxy's reset_peer does. */
    public void resetAll() {
        for (Link link : links) {
            link.reset();
        }
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = listener.accept();
            } catch (IOException e) {
                if (!closed) {
                    System.err.println("wan-proxy: accept failed: " + e.getMessage());
                }
                return;
            }
            connections.incrementAndGet();
            if (refusing) {
                hardClose(client);
                continue;
            }
            Thread.ofVirtual().name("wan-proxy-connect").start(() -> open(client));
        }
    }

    private void open(Socket client) {
        Socket server = new Socket();
        try {
            server.connect(upstream, 5_000);
            client.setTcpNoDelay(true);
            server.setTcpNoDelay(true);
        } catch (IOException e) {
            hardClose(client);
            closeQuietly(server);
            return;
        }
        Link link = new Link(client, server);
        links.add(link);
        link.start();
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(listener);
        for (Link link : links) {
            link.close();
        }
        acceptor.interrupt();
    }

    /** At most what one direction holds in flight: its bandwidth-delay product, and never less than 256 KiB. */
    static int bufferBytes(long rateBits, long delayNanos) {
        long bdp = rateBits == 0 ? 0 : (long) (rateBits / 8.0 * delayNanos / 1e9);
        return (int) Math.min(64L << 20, Math.max(256 << 10, 2 * bdp));
    }

    /** One proxied connection: two directions. */
    private final class Link {
        private final Socket client;
        private final Socket server;
        private final Direction up;
        private final Direction down;
        private final java.util.concurrent.atomic.AtomicInteger finished = new java.util.concurrent.atomic.AtomicInteger();
        private volatile boolean done;

        Link(Socket client, Socket server) {
            this.client = client;
            this.server = server;
            this.up = new Direction(this, client, server, true);
            this.down = new Direction(this, server, client, false);
        }

        void start() {
            up.start();
            down.start();
        }

        /** One direction saw its end; when both have, the connection is over. */
        void directionFinished() {
            if (finished.incrementAndGet() == 2) {
                close();
            }
        }

        void reset() {
            done = true;
            hardClose(client);
            hardClose(server);
            links.remove(this);
        }

        void close() {
            done = true;
            closeQuietly(client);
            closeQuietly(server);
            links.remove(this);
        }
    }

    private record Chunk(byte[] bytes, int length, long deliverAt) {
        static final Chunk END = new Chunk(new byte[0], -1, 0);
    }

    /** One direction of a link: a reader that timestamps chunks, a writer that delivers them on time. */
    private final class Direction {
        private final Link link;
        private final Socket from;
        private final Socket to;
        private final boolean isUp;
        private final BlockingQueue<Chunk> queue = new ArrayBlockingQueue<>(16384);
        private final java.util.concurrent.Semaphore room;
        private long lastDeparture;
        private long lastDelivery;

        Direction(Link link, Socket from, Socket to, boolean isUp) {
            this.link = link;
            this.from = from;
            this.to = to;
            this.isUp = isUp;
            WanSettings s = settings;
            this.room = new java.util.concurrent.Semaphore(bufferBytes(isUp ? s.rateUpBits() : s.rateDownBits(),
                    (isUp ? s.delayUp() : s.delayDown()).toNanos()));
        }

        void start() {
            String name = "wan-proxy-" + (isUp ? "up" : "down");
            Thread.ofVirtual().name(name + "-read").start(this::readLoop);
            Thread.ofVirtual().name(name + "-write").start(this::writeLoop);
        }

        private void readLoop() {
            try (InputStream in = from.getInputStream()) {
                while (!link.done) {
                    room.acquire(CHUNK);
                    byte[] buffer = new byte[CHUNK];
                    int n = in.read(buffer);
                    if (n < 0) {
                        room.release(CHUNK);
                        break;
                    }
                    room.release(CHUNK - n);
                    if (cut) {
                        room.release(n);
                        continue;
                    }
                    queue.put(new Chunk(buffer, n, schedule(n)));
                }
                queue.put(Chunk.END);
            } catch (IOException | InterruptedException e) {
                link.reset();
            }
        }

        private long schedule(int bytes) {
            WanSettings s = settings;
            long now = System.nanoTime();
            long rate = isUp ? s.rateUpBits() : s.rateDownBits();
            long serialisation = rate == 0 ? 0 : (long) (bytes * 8.0 * 1e9 / rate);
            long departure = Math.max(now, lastDeparture) + serialisation;
            lastDeparture = departure;
            long delay = (isUp ? s.delayUp() : s.delayDown()).toNanos();
            long jitter = s.jitter().toNanos();
            if (jitter > 0) {
                delay = Math.max(0, delay + ThreadLocalRandom.current().nextLong(-jitter, jitter + 1));
            }
            long delivery = Math.max(departure + delay, lastDelivery);
            lastDelivery = delivery;
            return delivery;
        }

        private void writeLoop() {
            try (OutputStream out = to.getOutputStream()) {
                while (true) {
                    Chunk chunk = queue.take();
                    if (chunk == Chunk.END) {
                        to.shutdownOutput();
                        link.directionFinished();
                        return;
                    }
                    long wait;
                    while ((wait = chunk.deliverAt - System.nanoTime()) > 0) {
                        LockSupport.parkNanos(wait);
                    }
                    if (!cut) {
                        out.write(chunk.bytes, 0, chunk.length);
                        out.flush();
                        (isUp ? bytesUp : bytesDown).addAndGet(chunk.length);
                    }
                    room.release(chunk.length);
                }
            } catch (IOException | InterruptedException e) {
                link.reset();
            }
        }
    }

    private static void hardClose(Socket socket) {
        try {
            socket.setSoLinger(true, 0);
        } catch (SocketException ignored) {
            // already closed
        }
        closeQuietly(socket);
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // closing anyway
        }
    }
}
