package io.tandem.edge.http;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.tandem.edge.config.HttpServerProperties;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.reactor.netty.NettyServerCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import reactor.netty.NettyPipeline;

/**
 * The edge's HTTP server against slow and greedy clients (a kiosk network is not a trusted one):
 * request header, body read and request timeouts, an idle timeout between requests, and a bound
 * on concurrent connections, each counted in a metric.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(HttpServerProperties.class)
public class HttpServerHardening {

    @Bean
    NettyServerCustomizer slowClientGuard(HttpServerProperties http, MeterRegistry registry) {
        AtomicInteger open = new AtomicInteger();
        Gauge.builder("tandem.edge.http.connections", open, AtomicInteger::get)
                .description("HTTP connections open").register(registry);
        Counter refused = Counter.builder("tandem.edge.http.connections.refused")
                .description("Connections closed at once: max-connections were open").register(registry);
        Counter headerTimeouts = Counter.builder("tandem.edge.http.header.timeouts")
                .description("Connections closed because a request's headers did not arrive in time").register(registry);
        return server -> server
                .idleTimeout(http.idleTimeout())
                .readTimeout(http.readTimeout())
                .requestTimeout(http.requestTimeout())
                .doOnChannelInit((observer, channel, remote) -> {
                    if (open.incrementAndGet() > http.maxConnections()) {
                        open.decrementAndGet();
                        refused.increment();
                        channel.close();
                        return;
                    }
                    channel.closeFuture().addListener(f -> open.decrementAndGet());
                    if (channel.pipeline().get(NettyPipeline.HttpCodec) != null) {
                        HeaderDeadlineHandler deadline = new HeaderDeadlineHandler(http.headerTimeout(),
                                remoteAddress -> headerTimeouts.increment());
                        channel.pipeline().addBefore(NettyPipeline.HttpCodec, "tandem.headerBytes", deadline.bytes);
                        channel.pipeline().addAfter(NettyPipeline.HttpCodec, "tandem.headerDeadline", deadline.requests);
                    }
                });
    }
}
