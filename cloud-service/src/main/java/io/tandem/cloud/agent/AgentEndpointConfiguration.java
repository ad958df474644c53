package io.tandem.cloud.agent;

import io.tandem.cloud.config.AgentEndpointProperties;
import io.tandem.cloud.config.ConnectionProperties;
import io.tandem.cloud.pool.LayerPool;
import io.tandem.cloud.session.AgentConnection;
import io.tandem.cloud.session.CloudMetrics;
import io.tandem.cloud.session.DeviceStepRates;
import io.tandem.cloud.session.SessionLimits;
import io.tandem.model.wire.Frame;
import io.tandem.cloud.config.SessionProperties;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.reactive.HandlerMapping;
import org.springframework.web.reactive.handler.SimpleUrlHandlerMapping;
import org.springframework.web.reactive.socket.server.WebSocketService;
import org.springframework.web.reactive.socket.server.support.HandshakeWebSocketService;
import org.springframework.web.reactive.socket.server.support.WebSocketHandlerAdapter;
import reactor.netty.http.server.WebsocketServerSpec;

/** The agent endpoint: the WebSocket mapping, its frame cap, and what its connections share. */
@Configuration(proxyBeanMethods = false)
public class AgentEndpointConfiguration {

    @Bean
    Clock clock() {
        return Clock.systemUTC();
    }

    @Bean
    CloudMetrics cloudMetrics(MeterRegistry registry) {
        return new CloudMetrics(registry);
    }

    @Bean
    SessionLimits sessionLimits(SessionProperties sessions) {
        return new SessionLimits(sessions.perAgent(), sessions.total(), sessions.reserved());
    }

    @Bean
    FragmentMemory fragmentMemory(ConnectionProperties connections, MeterRegistry registry) {
        FragmentMemory memory = new FragmentMemory(connections.fragmentMemory().toBytes());
        Gauge.builder("tandem.cloud.fragments.bytes", memory, FragmentMemory::used).baseUnit("bytes")
                .description("Bytes of unfinished fragmented messages held, over all connections").register(registry);
        return memory;
    }

    /** Bytes of frames queued for agents that have not taken them yet, over all connections. */
    @Bean
    AtomicLong outboundQueuedBytes(MeterRegistry registry) {
        AtomicLong bytes = new AtomicLong();
        Gauge.builder("tandem.cloud.outbound.queued.bytes", bytes, AtomicLong::get).baseUnit("bytes")
                .description("Bytes of frames waiting for agents to read them, over all connections").register(registry);
        return bytes;
    }

    @Bean(destroyMethod = "close")
    AgentConnections agentConnections(MeterRegistry registry, SessionLimits limits, LayerPool pool,
                                      CloudMetrics metrics, ConnectionProperties connectionLimits, Clock clock) {
        AgentConnections connections = new AgentConnections(
                () -> new Frame.Load(pool.queueDepth(), limits.open(), metrics.recentStepMillis()), connectionLimits, clock);
        Gauge.builder("tandem.cloud.connections", connections, AgentConnections::count)
                .description("Agent WebSocket connections open").register(registry);
        Gauge.builder("tandem.cloud.sessions", limits, SessionLimits::open)
                .description("Sessions open over all agents").register(registry);
        Gauge.builder("tandem.cloud.queue.depth", pool, LayerPool::queueDepth)
                .description("Session steps waiting for a worker").register(registry);
        return connections;
    }

    @Bean
    AgentWebSocketHandler agentWebSocketHandler(LayerPool pool, SessionLimits limits,
                                                @Qualifier("stepWorkers") Executor stepWorkers,
                                                AgentEndpointProperties endpoint, SessionProperties sessions,
                                                CloudMetrics metrics, Clock clock, AgentConnections connections,
                                                ConnectionProperties connectionLimits, FragmentMemory fragmentMemory,
                                                AtomicLong outboundQueuedBytes) {
        AgentConnection.SessionContext context = new AgentConnection.SessionContext(pool, limits, stepWorkers,
                endpoint.wireLimits(), metrics, clock, sessions.idleTimeout(), sessions.maxLifetime(),
                new DeviceStepRates(sessions.stepsPerSecond()));
        return new AgentWebSocketHandler(context, connections, clock, connectionLimits, fragmentMemory,
                outboundQueuedBytes);
    }

    @Bean
    HandlerMapping agentHandlerMapping(AgentEndpointProperties endpoint, AgentWebSocketHandler handler) {
        return new SimpleUrlHandlerMapping(Map.of(endpoint.path(), handler), -1);
    }

    /** Reactor Netty's default cap is 64 KiB per frame; a prefill's activations need far more. */
    @Bean
    WebSocketHandlerAdapter webSocketHandlerAdapter(AgentEndpointProperties endpoint, AgentConnections connections,
                                                    CloudMetrics metrics) {
        WebSocketService service = new HandshakeWebSocketService(new RawFrameUpgradeStrategy(
                () -> WebsocketServerSpec.builder().maxFramePayloadLength(endpoint.maxFrameBytes()), connections, metrics));
        return new WebSocketHandlerAdapter(service);
    }
}
