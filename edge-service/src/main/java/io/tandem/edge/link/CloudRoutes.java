package io.tandem.edge.link;

import io.tandem.edge.inference.LocalInference;
import io.tandem.model.engine.Engine;
import io.tandem.model.engine.Partitions;
import io.tandem.model.generate.TokenStepper;
import io.tandem.model.runtime.KvSequence;
import io.tandem.model.wire.Frame;
import io.tandem.model.wire.Mode;
import java.util.function.Consumer;

/**
 * The split and cloud routes: a generation whose tokens the cloud chooses, with the same loop,
 * text and limits as a local one, and the local model standing by to finish if the link fails.
 */
public final class CloudRoutes {

    private final CloudLink link;
    private final LinkProperties properties;
    private final Engine engine;
    private final Partitions partitions;

    public CloudRoutes(CloudLink link, LinkProperties properties, Engine engine, Partitions partitions) {
        this.link = link;
        this.properties = properties;
        this.engine = engine;
        this.partitions = partitions;
    }

    public CloudLink link() {
        return link;
    }

    public int defaultSplitLayer() {
        return properties.splitLayer();
    }

    /** The model the cloud route asks for: the configured one, else the same weights as the local model. */
    public String cloudModelHash() {
        return properties.cloudModel() == null || properties.cloudModel().isBlank()
                ? partitions.modelHash() : properties.cloudModel();
    }

    /** Runs a generation through the cloud in {@code mode}; warnings (a fallback) go to {@code warnings}. */
    public LocalInference.Generation generation(Mode mode, Consumer<String> warnings) {
        return (request, listener, cancelled) -> {
            Frame.Open open = new Frame.Open(mode instanceof Mode.Split ? partitions.modelHash() : cloudModelHash(),
                    mode, request.sampling(), request.maxTokens());
            KvSequence head = mode instanceof Mode.Split split
                    ? partitions.range(0, split.firstCloudLayer()).session().newSequence()
                    : null;
            TokenStepper remote = new RemoteStepper(link, open, head, properties.activationCodec(),
                    partitions.config().dim(), properties.firstTokenTimeout(), properties.tokenTimeout());
            try (FallbackStepper stepper = new FallbackStepper(remote, () -> engine.newStepper(request.sampling()), warnings)) {
                return engine.generate(stepper, request, listener, cancelled);
            }
        };
    }
}
