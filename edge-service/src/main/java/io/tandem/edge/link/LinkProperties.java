package io.tandem.edge.link;

import io.tandem.model.wire.ActivationDtype;
import io.tandem.model.wire.Codec;
import io.tandem.model.wire.Compression;
import io.tandem.model.wire.WireLimits;
import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The cloud link: where the cloud's agent endpoint is, which OAuth2 client registration
 * ({@code spring.security.oauth2.client.registration.<registration>}) gets its token, the default
 * split point, the activation codec, and how long to wait before falling back to local.
 */
@ConfigurationProperties("tandem.link")
public record LinkProperties(boolean enabled, URI url, String registration, int splitLayer, String codec,
                             boolean zstd, Duration connectTimeout, Duration firstTokenTimeout,
                             Duration tokenTimeout, Duration backoffMin, Duration backoffMax,
                             String cloudModel, int maxFrameBytes) {

    public LinkProperties {
        url = url == null ? URI.create("ws://127.0.0.1:8081/v1/agent") : url;
        registration = registration == null ? "tandem-cloud" : registration;
        splitLayer = splitLayer == 0 ? 2 : splitLayer;
        codec = codec == null ? "fp32" : codec.toLowerCase(Locale.ROOT);
        connectTimeout = connectTimeout == null ? Duration.ofSeconds(3) : connectTimeout;
        firstTokenTimeout = firstTokenTimeout == null ? Duration.ofSeconds(30) : firstTokenTimeout;
        tokenTimeout = tokenTimeout == null ? Duration.ofSeconds(5) : tokenTimeout;
        backoffMin = backoffMin == null ? Duration.ofMillis(500) : backoffMin;
        backoffMax = backoffMax == null ? Duration.ofSeconds(30) : backoffMax;
        maxFrameBytes = maxFrameBytes == 0 ? WireLimits.DEFAULT.maxFrameBytes() : maxFrameBytes;
        if (!"ws".equals(url.getScheme()) && !"wss".equals(url.getScheme())) {
            throw new IllegalArgumentException("tandem.link.url must be a ws:// or wss:// URL, was " + url);
        }
        if (splitLayer < 1) {
            throw new IllegalArgumentException("tandem.link.split-layer must be >= 1, was " + splitLayer);
        }
        activationCodec(codec, zstd);
    }

    public Codec activationCodec() {
        return activationCodec(codec, zstd);
    }

    private static Codec activationCodec(String name, boolean zstd) {
        ActivationDtype dtype = switch (name) {
            case "fp32" -> ActivationDtype.FP32;
            case "fp16" -> ActivationDtype.FP16;
            case "int8" -> ActivationDtype.INT8;
            default -> throw new IllegalArgumentException("tandem.link.codec must be fp32, fp16 or int8, was " + name);
        };
        return new Codec(dtype, zstd ? Compression.ZSTD : Compression.NONE);
    }

    public WireLimits wireLimits() {
        return new WireLimits(maxFrameBytes, WireLimits.DEFAULT.maxPositions(), WireLimits.DEFAULT.maxWidth(),
                WireLimits.DEFAULT.maxStringBytes());
    }
}
