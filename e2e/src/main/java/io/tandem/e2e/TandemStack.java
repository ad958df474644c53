package io.tandem.e2e;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The three services linked as bin/tandem demo links them, on free ports: the issuer, a cloud that
 * trusts it, and an edge whose link gets its token there.
 */
public final class TandemStack implements AutoCloseable {

    private static final Duration STARTUP = Duration.ofSeconds(120);

    public final ServiceProcess issuer;
    public volatile ServiceProcess cloud;
    public final ServiceProcess edge;
    private final List<String> cloudCommand;
    private final Path logDir;

    private TandemStack(ServiceProcess issuer, ServiceProcess cloud, ServiceProcess edge, List<String> cloudCommand,
                        Path logDir) {
        this.issuer = issuer;
        this.cloud = cloud;
        this.edge = edge;
        this.cloudCommand = cloudCommand;
        this.logDir = logDir;
    }

    public String issuerUrl() {
        return issuer.baseUrl();
    }

    /** Starts the cloud again on its port, as it was first started (after a kill); waits until healthy. */
    public void restartCloud() {
        if (cloud.isAlive()) {
            throw new IllegalStateException("the cloud is still running");
        }
        cloud = ServiceProcess.start("cloud-service", "cloud", cloud.port(), cloudCommand, logDir.resolve("restarted"))
                .awaitHealthy(STARTUP);
    }

    /**
     * @param cloudArgs extra cloud properties (models to serve)
     * @param edgeArgs extra edge properties (model, codec)
     */
    public static TandemStack start(Path logDir, List<String> cloudArgs, List<String> edgeArgs) {
        TandemStack base = startWithoutEdge(logDir, cloudArgs);
        try {
            ServiceProcess edge = startEdge(ServiceProcess.freePort(), base.cloud.port(), base.issuerUrl(), edgeArgs, logDir);
            return new TandemStack(base.issuer, base.cloud, edge, base.cloudCommand, logDir);
        } catch (RuntimeException e) {
            base.close();
            throw e;
        }
    }

    /** Another edge on this stack's cloud and issuer. */
    public ServiceProcess startAnotherEdge(List<String> edgeArgs) {
        return startEdge(ServiceProcess.freePort(), cloud.port(), issuerUrl(), edgeArgs, logDir);
    }

    /** Another edge whose link goes to {@code linkPort} (a {@link io.tandem.e2e.wan.WanProxy} in front of the cloud). */
    public ServiceProcess startEdgeVia(int linkPort, List<String> edgeArgs) {
        return startEdge(ServiceProcess.freePort(), linkPort, issuerUrl(), edgeArgs, logDir);
    }

    /**
     * The issuer and the cloud only, for callers that put something between the cloud and the edges
     * they start with {@link #startEdgeVia}: {@code edge} is null until then.
     */
    public static TandemStack startWithoutEdge(Path logDir, List<String> cloudArgs) {
        int issuerPort = ServiceProcess.freePort();
        int cloudPort = ServiceProcess.freePort();
        String issuerUrl = "http://127.0.0.1:" + issuerPort;
        ServiceProcess issuer = null;
        ServiceProcess cloud = null;
        try {
            issuer = ServiceProcess.start("issuer", "issuer", issuerPort,
                    List.of("--spring.security.oauth2.authorizationserver.issuer=" + issuerUrl,
                            Devices.issuerArgument(logDir)), logDir);
            List<String> c = new ArrayList<>(List.of("--tandem.cloud.security.issuer=" + issuerUrl,
                    "--tandem.cloud.security.jwk-set-uri=" + issuerUrl + "/oauth2/jwks",
                    "--tandem.cloud.security.revocation-list-uri=" + issuerUrl + "/devices/revoked",
                    "--tandem.cloud.kserve.port=" + ServiceProcess.freePort()));
            c.addAll(cloudArgs);
            cloud = ServiceProcess.start("cloud-service", "cloud", cloudPort, c, logDir);
            issuer.awaitHealthy(STARTUP);
            cloud.awaitHealthy(STARTUP);
            return new TandemStack(issuer, cloud, null, c, logDir);
        } catch (RuntimeException e) {
            if (cloud != null) {
                cloud.close();
            }
            if (issuer != null) {
                issuer.close();
            }
            throw e;
        }
    }

    static ServiceProcess startEdge(int edgePort, int cloudPort, String issuerUrl, List<String> edgeArgs, Path logDir) {
        return startEdge(edgePort, cloudPort, issuerUrl, edgeArgs, logDir, ServiceProcess.TEST_JVM_OPTIONS);
    }

    /**
     * An edge linked to the cloud on {@code cloudPort} with tokens from {@code issuerUrl}, registered
     * there as device {@code edge-<port>} (the issuer must read {@link Devices#file} of {@code logDir});
     * waits until healthy.
     */
    static ServiceProcess startEdge(int edgePort, int cloudPort, String issuerUrl, List<String> edgeArgs, Path logDir,
                                    List<String> jvmOptions) {
        List<String> e = new ArrayList<>(List.of("--tandem.link.enabled=true",
                "--tandem.audit.path=" + logDir.toAbsolutePath().resolve("edge-" + edgePort + "-audit.jsonl"),
                "--tandem.link.url=ws://127.0.0.1:" + cloudPort + "/v1/agent",
                "--spring.security.oauth2.client.provider.tandem-cloud.token-uri=" + issuerUrl + "/oauth2/token"));
        e.addAll(Devices.register(logDir, "edge-" + edgePort));
        e.addAll(edgeArgs);
        return ServiceProcess.start("edge-service", "edge", edgePort, e, logDir, jvmOptions).awaitHealthy(STARTUP);
    }

    @Override
    public void close() {
        if (edge != null) {
            edge.close();
        }
        cloud.close();
        issuer.close();
    }
}
