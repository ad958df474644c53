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
        int issuerPort = ServiceProcess.freePort();
        int cloudPort = ServiceProcess.freePort();
        int edgePort = ServiceProcess.freePort();
        String issuerUrl = "http://127.0.0.1:" + issuerPort;
        ServiceProcess issuer = null;
        ServiceProcess cloud = null;
        try {
            issuer = ServiceProcess.start("issuer", "issuer", issuerPort,
                    List.of("--spring.security.oauth2.authorizationserver.issuer=" + issuerUrl), logDir);
            List<String> c = new ArrayList<>(List.of("--tandem.cloud.security.issuer=" + issuerUrl,
                    "--tandem.cloud.security.jwk-set-uri=" + issuerUrl + "/oauth2/jwks",
                    "--tandem.cloud.kserve.port=" + ServiceProcess.freePort()));
            c.addAll(cloudArgs);
            cloud = ServiceProcess.start("cloud-service", "cloud", cloudPort, c, logDir);
            issuer.awaitHealthy(STARTUP);
            cloud.awaitHealthy(STARTUP);
            ServiceProcess edge = startEdge(edgePort, cloudPort, issuerUrl, edgeArgs, logDir);
            return new TandemStack(issuer, cloud, edge, c, logDir);
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

    /** Another edge on this stack's cloud and issuer. */
    public ServiceProcess startAnotherEdge(List<String> edgeArgs) {
        return startEdge(ServiceProcess.freePort(), cloud.port(), issuerUrl(), edgeArgs, logDir);
    }

    static ServiceProcess startEdge(int edgePort, int cloudPort, String issuerUrl, List<String> edgeArgs, Path logDir) {
        return startEdge(edgePort, cloudPort, issuerUrl, edgeArgs, logDir, ServiceProcess.TEST_JVM_OPTIONS);
    }

    /** An edge linked to the cloud on {@code cloudPort} with tokens from {@code issuerUrl}; waits until healthy. */
    static ServiceProcess startEdge(int edgePort, int cloudPort, String issuerUrl, List<String> edgeArgs, Path logDir,
                                    List<String> jvmOptions) {
        List<String> e = new ArrayList<>(List.of("--tandem.link.enabled=true",
                "--tandem.audit.path=" + logDir.toAbsolutePath().resolve("edge-" + edgePort + "-audit.jsonl"),
                "--tandem.link.url=ws://127.0.0.1:" + cloudPort + "/v1/agent",
                "--spring.security.oauth2.client.provider.tandem-cloud.token-uri=" + issuerUrl + "/oauth2/token"));
        e.addAll(edgeArgs);
        return ServiceProcess.start("edge-service", "edge", edgePort, e, logDir, jvmOptions).awaitHealthy(STARTUP);
    }

    @Override
    public void close() {
        edge.close();
        cloud.close();
        issuer.close();
    }
}
