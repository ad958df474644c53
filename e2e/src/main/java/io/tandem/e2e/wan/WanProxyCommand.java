package io.tandem.e2e.wan;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;

/**
 * {@code bin/tandem wan-proxy}: runs a {@link WanProxy} by hand, and takes commands on stdin to cut,
 * reset or reshape the link while it runs.
 */
public final class WanProxyCommand {

    static final String USAGE = """
            usage: bin/tandem wan-proxy --listen PORT --to HOST:PORT [--rtt 40ms] [--rate 20mbit] [options]

            Relays TCP from 127.0.0.1:PORT to HOST:PORT as a wide-area link would: half the round trip
            of delay each way, a bandwidth cap per direction, optional jitter. Point the edge's
            tandem.link.url at the listening port to put the cloud link behind it.

            options:
              --rtt D          round trip added, split evenly between the directions (default 0)
              --up-delay D     one-way delay client->server (overrides half of --rtt)
              --down-delay D   one-way delay server->client (overrides half of --rtt)
              --jitter D       uniform +-D on each chunk's delay; bytes are never reordered (default 0)
              --rate R         cap both directions, e.g. 20mbit, 512kbit, 2mbps (bytes/s); 0 = none
              --rate-up R      cap client->server only
              --rate-down R    cap server->client only

            commands on stdin while it runs:
              cut              drop every byte both ways, connections stay open (a dead route)
              restore          undo cut and refuse
              reset            reset every open connection (TCP RST)
              refuse           close new connections as soon as they arrive
              rtt D | rate R | jitter D    change the link for every byte from now on
              stats            bytes relayed each way and connections
              quit             stop
            """;

    private WanProxyCommand() {}

    public static void main(String[] args) throws Exception {
        int status = run(args);
        if (status != 0) {
            System.exit(status);
        }
    }

    static int run(String[] args) throws Exception {
        Integer listen = null;
        InetSocketAddress to = null;
        Duration rtt = Duration.ZERO;
        Duration up = null;
        Duration down = null;
        Duration jitter = Duration.ZERO;
        long rateUp = 0;
        long rateDown = 0;
        try {
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                if (arg.equals("--help") || arg.equals("-h")) {
                    System.out.print(USAGE);
                    return 0;
                }
                String value;
                int eq = arg.indexOf('=');
                if (eq > 0) {
                    value = arg.substring(eq + 1);
                    arg = arg.substring(0, eq);
                } else {
                    if (i + 1 >= args.length) {
                        throw new IllegalArgumentException(arg + " needs a value");
                    }
                    value = args[++i];
                }
                switch (arg) {
                    case "--listen" -> listen = port(value, "--listen");
                    case "--to" -> to = hostPort(value);
                    case "--rtt" -> rtt = WanSettings.parseDuration(value);
                    case "--up-delay" -> up = WanSettings.parseDuration(value);
                    case "--down-delay" -> down = WanSettings.parseDuration(value);
                    case "--jitter" -> jitter = WanSettings.parseDuration(value);
                    case "--rate" -> rateUp = rateDown = WanSettings.parseRate(value);
                    case "--rate-up" -> rateUp = WanSettings.parseRate(value);
                    case "--rate-down" -> rateDown = WanSettings.parseRate(value);
                    default -> throw new IllegalArgumentException("unknown option " + arg + " (see --help)");
                }
            }
            if (listen == null || to == null) {
                throw new IllegalArgumentException("--listen and --to are required (see --help)");
            }
        } catch (IllegalArgumentException e) {
            System.err.println("wan-proxy: " + e.getMessage());
            return 2;
        }
        Duration half = rtt.dividedBy(2);
        WanSettings settings = new WanSettings(up != null ? up : half, down != null ? down : rtt.minus(half), jitter,
                rateUp, rateDown);
        try (WanProxy proxy = WanProxy.start(listen, to, settings)) {
            System.err.println("wan-proxy: 127.0.0.1:" + proxy.port() + " -> " + to.getHostString() + ":" + to.getPort()
                    + ", " + settings + "; type 'help' for commands");
            BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            String line;
            while ((line = stdin.readLine()) != null) {
                if (!command(proxy, line.trim())) {
                    break;
                }
            }
            if (line == null) {
                Thread.currentThread().join(); // stdin closed (run in the background): serve until killed
            }
        } catch (IllegalStateException e) {
            System.err.println("wan-proxy: " + e.getMessage());
            return 1;
        }
        return 0;
    }

    /** Applies one stdin command; false to stop. */
    static boolean command(WanProxy proxy, String line) {
        String[] words = line.toLowerCase(Locale.ROOT).split("\\s+");
        try {
            WanSettings s = proxy.settings();
            switch (words[0]) {
                case "" -> { }
                case "cut" -> proxy.cut();
                case "restore" -> proxy.restore();
                case "reset" -> proxy.resetAll();
                case "refuse" -> proxy.refuseNew();
                case "rtt" -> {
                    Duration rtt = WanSettings.parseDuration(arg(words));
                    Duration half = rtt.dividedBy(2);
                    proxy.settings(new WanSettings(half, rtt.minus(half), s.jitter(), s.rateUpBits(), s.rateDownBits()));
                }
                case "rate" -> {
                    long rate = WanSettings.parseRate(arg(words));
                    proxy.settings(new WanSettings(s.delayUp(), s.delayDown(), s.jitter(), rate, rate));
                }
                case "jitter" -> proxy.settings(s.withJitter(WanSettings.parseDuration(arg(words))));
                case "stats" -> System.err.printf(Locale.ROOT, "wan-proxy: up %d bytes, down %d bytes, %d connections (%d open)%n",
                        proxy.bytesUp(), proxy.bytesDown(), proxy.connections(), proxy.openConnections());
                case "quit", "exit" -> {
                    return false;
                }
                case "help" -> System.err.print(USAGE.substring(USAGE.indexOf("commands on stdin")));
                default -> System.err.println("wan-proxy: unknown command '" + words[0] + "' (help lists them)");
            }
            if (words[0].matches("rtt|rate|jitter")) {
                System.err.println("wan-proxy: " + proxy.settings());
            }
        } catch (IllegalArgumentException e) {
            System.err.println("wan-proxy: " + e.getMessage());
        }
        return true;
    }

    private static String arg(String[] words) {
        if (words.length < 2) {
            throw new IllegalArgumentException(words[0] + " needs a value");
        }
        return words[1];
    }

    private static int port(String value, String option) {
        try {
            int port = Integer.parseInt(value);
            if (port < 0 || port > 65535) {
                throw new NumberFormatException();
            }
            return port;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " must be a port number 0..65535, was '" + value + "'");
        }
    }

    private static InetSocketAddress hostPort(String value) {
        int colon = value.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("--to must be HOST:PORT, was '" + value + "'");
        }
        return new InetSocketAddress(value.substring(0, colon), port(value.substring(colon + 1), "--to"));
    }
}
