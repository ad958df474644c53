package io.tandem.cloud.kserve;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.tandem.cloud.config.KServeProperties;
import io.tandem.cloud.config.SessionProperties;
import io.tandem.cloud.pool.LayerPool;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The KServe v2 gRPC server (Triton's GRPCInferenceService) over this cloud's pool, on its own port. */
@Configuration(proxyBeanMethods = false)
@ConditionalOnProperty(name = "tandem.cloud.kserve.enabled", havingValue = "true", matchIfMissing = true)
public class KServeConfiguration {

    private static final Logger log = LoggerFactory.getLogger(KServeConfiguration.class);

    @Bean
    KServeService kserveService(LayerPool pool, Clock clock, SessionProperties sessions) {
        return new KServeService(pool, clock, sessions.idleTimeout(), KServeConfiguration.class.getPackage().getImplementationVersion() == null
                ? "dev" : KServeConfiguration.class.getPackage().getImplementationVersion());
    }

    @Bean
    SmartLifecycle kserveServer(KServeService service, KServeProperties properties) {
        return new SmartLifecycle() {
            private Server server;
            private ScheduledExecutorService sweeper;

            @Override
            public void start() {
                try {
                    server = NettyServerBuilder.forPort(properties.port())
                            .addService(service)
                            .executor(Executors.newVirtualThreadPerTaskExecutor())
                            .maxInboundMessageSize(256 << 20)
                            .build().start();
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot serve KServe v2 gRPC on port " + properties.port()
                            + " (tandem.cloud.kserve.port): " + e.getMessage(), e);
                }
                sweeper = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("tandem-kserve-idle").unstarted(r));
                sweeper.scheduleWithFixedDelay(service::sweepIdle, 5, 5, TimeUnit.SECONDS);
                log.info("KServe v2 gRPC (GRPCInferenceService) listening on port {}", server.getPort());
            }

            @Override
            public void stop() {
                service.setReady(false);
                if (sweeper != null) {
                    sweeper.shutdownNow();
                }
                if (server != null) {
                    server.shutdown();
                    try {
                        server.awaitTermination(5, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    server.shutdownNow();
                }
                service.closeAll();
            }

            @Override
            public boolean isRunning() {
                return server != null && !server.isShutdown();
            }
        };
    }
}
