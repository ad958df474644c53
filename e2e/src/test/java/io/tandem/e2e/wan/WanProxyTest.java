package io.tandem.e2e.wan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The emulator against its settings: round trips and throughput measured through it, by a client
 * and a server on loopback, within 10%. Sizes are chosen so that a scheduling hiccup of a few
 * milliseconds on a loaded two-core machine is small against what is measured (a 160 ms round trip,
 * a transfer of a second).
 */
class WanProxyTest {

    private ServerSocket server;
    private WanProxy proxy;

    @AfterEach
    void stop() throws IOException {
        if (proxy != null) {
            proxy.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @Test
    void roundTripThroughTheProxyIsTheConfiguredOne() throws Exception {
        startEcho();
        proxy = WanProxy.start(0, address(server), WanSettings.symmetric(Duration.ofMillis(160), 0));
        try (Socket client = connect()) {
            long[] rtts = new long[9];
            for (int i = 0; i < rtts.length; i++) {
                rtts[i] = ping(client);
            }
            Arrays.sort(rtts);
            double medianMillis = rtts[rtts.length / 2] / 1e6;
            assertThat(medianMillis).isBetween(160.0, 176.0);
            // each ping pays the delay both ways: none may come back early
            assertThat(rtts[0] / 1e6).isGreaterThanOrEqualTo(160.0);
        }
    }

    @Test
    void asymmetricDelaysAddUpAndJitterStaysWithinItsBounds() throws Exception {
        startEcho();
        proxy = WanProxy.start(0, address(server),
                new WanSettings(Duration.ofMillis(30), Duration.ofMillis(90), Duration.ofMillis(20), 0, 0));
        try (Socket client = connect()) {
            double[] rtts = new double[7];
            for (int i = 0; i < rtts.length; i++) {
                rtts[i] = ping(client) / 1e6;
                // jitter never brings a byte back early
                assertThat(rtts[i]).isGreaterThanOrEqualTo(120.0 - 40.0);
            }
            // nor late beyond its bound; the median, since a preempted proxy thread on a busy machine adds
            // its own delay to one ping now and then
            Arrays.sort(rtts);
            assertThat(rtts[rtts.length / 2]).isBetween(120.0 - 40.0, 120.0 + 40.0 + 15.0);
        }
    }

    @Test
    void throughputUpIsTheConfiguredRate() throws Exception {
        CompletableFuture<long[]> received = startSink();
        long rate = 8_000_000; // 1 MB/s: a 1 MiB transfer takes about a second
        proxy = WanProxy.start(0, address(server), new WanSettings(Duration.ofMillis(20), Duration.ofMillis(20),
                Duration.ZERO, rate, 0));
        int total = 1 << 20;
        try (Socket client = connect()) {
            OutputStream out = client.getOutputStream();
            byte[] block = new byte[16384];
            for (int sent = 0; sent < total; sent += block.length) {
                out.write(block);
            }
            client.shutdownOutput();
            long[] sink = received.get(30, TimeUnit.SECONDS);
            assertThat(sink[0]).isEqualTo(total);
            assertThat(measuredBits(sink)).isCloseTo(rate, org.assertj.core.data.Percentage.withPercentage(10));
        }
    }

    @Test
    void throughputDownIsItsOwnRate() throws Exception {
        int total = 512 << 10;
        server = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            try (Socket s = server.accept(); OutputStream out = s.getOutputStream()) {
                out.write(new byte[total]);
            } catch (IOException ignored) {
                // the test fails on its side
            }
        });
        long rate = 4_000_000; // 0.5 MB/s down, uncapped up
        proxy = WanProxy.start(0, address(server), new WanSettings(Duration.ofMillis(10), Duration.ofMillis(10),
                Duration.ZERO, 0, rate));
        try (Socket client = connect()) {
            long[] sink = drain(client.getInputStream());
            assertThat(sink[0]).isEqualTo(total);
            assertThat(measuredBits(sink)).isCloseTo(rate, org.assertj.core.data.Percentage.withPercentage(10));
            assertThat(proxy.bytesDown()).isEqualTo(total);
        }
    }

    @Test
    void aCutLinkDeliversNothingButStaysOpenAndRestoreBringsItBack() throws Exception {
        startEcho();
        proxy = WanProxy.start(0, address(server), WanSettings.NONE);
        try (Socket client = connect()) {
            ping(client);
            proxy.cut();
            client.setSoTimeout(300);
            client.getOutputStream().write(7);
            assertThatThrownBy(() -> client.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);
            proxy.restore();
            client.setSoTimeout(5_000);
            ping(client);
        }
    }

    @Test
    void resetEndsEveryConnectionAndRefuseTurnsNewOnesAway() throws Exception {
        startEcho();
        proxy = WanProxy.start(0, address(server), WanSettings.NONE);
        try (Socket client = connect()) {
            ping(client);
            proxy.resetAll();
            client.setSoTimeout(5_000);
            assertThatThrownBy(() -> {
                client.getOutputStream().write(1);
                if (client.getInputStream().read() < 0) {
                    throw new IOException("end of stream");
                }
            }).isInstanceOf(IOException.class);
        }
        proxy.refuseNew();
        try (Socket refused = connect()) {
            refused.setSoTimeout(5_000);
            assertThatThrownBy(() -> {
                refused.getOutputStream().write(1);
                if (refused.getInputStream().read() < 0) {
                    throw new IOException("end of stream");
                }
            }).isInstanceOf(IOException.class);
        }
        proxy.restore();
        try (Socket again = connect()) {
            again.setSoTimeout(5_000);
            ping(again);
        }
    }

    @Test
    void settingsParseTcStyleUnitsAndRefuseNonsense() {
        assertThat(WanSettings.parseDuration("40ms")).isEqualTo(Duration.ofMillis(40));
        assertThat(WanSettings.parseDuration("0.1s")).isEqualTo(Duration.ofMillis(100));
        assertThat(WanSettings.parseDuration("250us")).isEqualTo(Duration.ofNanos(250_000));
        assertThat(WanSettings.parseDuration("15")).isEqualTo(Duration.ofMillis(15));
        assertThat(WanSettings.parseRate("20mbit")).isEqualTo(20_000_000L);
        assertThat(WanSettings.parseRate("512kbit")).isEqualTo(512_000L);
        assertThat(WanSettings.parseRate("2mbps")).isEqualTo(16_000_000L);
        assertThat(WanSettings.symmetric(Duration.ofMillis(41), 0).rtt()).isEqualTo(Duration.ofMillis(41));
        assertThatThrownBy(() -> WanSettings.parseDuration("fast")).hasMessageContaining("'fast' is not a duration");
        assertThatThrownBy(() -> WanSettings.parseRate("20 furlongs")).hasMessageContaining("is not a rate");
        assertThatThrownBy(() -> new WanSettings(Duration.ofMillis(-1), Duration.ZERO, Duration.ZERO, 0, 0))
                .hasMessageContaining("delay up must be >= 0");
    }

    @Test
    void theCommandRefusesBadArguments() throws Exception {
        assertThat(WanProxyCommand.run(new String[] {"--listen", "99999", "--to", "127.0.0.1:1"})).isEqualTo(2);
        assertThat(WanProxyCommand.run(new String[] {"--listen", "0", "--to", "nohost"})).isEqualTo(2);
        assertThat(WanProxyCommand.run(new String[] {"--listen", "0"})).isEqualTo(2);
        assertThat(WanProxyCommand.run(new String[] {"--listen", "0", "--to", "127.0.0.1:1", "--rate", "x"})).isEqualTo(2);
        proxy = WanProxy.start(0, new InetSocketAddress("127.0.0.1", 1), WanSettings.NONE);
        WanProxyCommand.command(proxy, "rtt 100ms");
        WanProxyCommand.command(proxy, "rate 5mbit");
        assertThat(proxy.settings().rtt()).isEqualTo(Duration.ofMillis(100));
        assertThat(proxy.settings().rateDownBits()).isEqualTo(5_000_000L);
        assertThat(WanProxyCommand.command(proxy, "quit")).isFalse();
    }

    /** Bits per second between the first and the last byte, not counting the first chunk (it started the clock). */
    private static double measuredBits(long[] sink) {
        return (sink[0] - sink[3]) * 8.0 / ((sink[2] - sink[1]) / 1e9);
    }

    private void startEcho() throws IOException {
        server = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Thread.ofVirtual().start(() -> {
                        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                            s.setTcpNoDelay(true);
                            byte[] b = new byte[4096];
                            int n;
                            while ((n = in.read(b)) > 0) {
                                out.write(b, 0, n);
                                out.flush();
                            }
                        } catch (IOException ignored) {
                            // the client went away
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    private CompletableFuture<long[]> startSink() throws IOException {
        server = new ServerSocket(0, 8, InetAddress.getLoopbackAddress());
        CompletableFuture<long[]> result = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try (Socket s = server.accept()) {
                result.complete(drain(s.getInputStream()));
            } catch (IOException e) {
                result.completeExceptionally(e);
            }
        });
        return result;
    }

    /** {total bytes, nanos of the first read, nanos of the last, bytes of the first read}. */
    private static long[] drain(InputStream in) throws IOException {
        byte[] b = new byte[65536];
        long total = 0;
        long first = 0;
        long last = 0;
        long firstBytes = 0;
        int n;
        while ((n = in.read(b)) > 0) {
            long now = System.nanoTime();
            if (total == 0) {
                first = now;
                firstBytes = n;
            }
            last = now;
            total += n;
        }
        return new long[] {total, first, last, firstBytes};
    }

    private Socket connect() throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), proxy.port());
        s.setTcpNoDelay(true);
        return s;
    }

    private static long ping(Socket client) throws IOException {
        long start = System.nanoTime();
        client.getOutputStream().write(42);
        client.getOutputStream().flush();
        int b = client.getInputStream().read();
        assertThat(b).isEqualTo(42);
        return System.nanoTime() - start;
    }

    private static InetSocketAddress address(ServerSocket s) {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), s.getLocalPort());
    }
}
