package io.tandem.model.generate;

import io.tandem.model.sampling.Sampler;
import io.tandem.model.sampling.TokenChoice;

/** Chooses tokens on this machine: a pipeline's last-position logits through a sampler. */
public final class SamplingStepper implements TokenStepper {

    private final DecoderPipeline pipeline;
    private final Sampler sampler;

    /** Takes ownership of {@code pipeline}: closing the stepper closes it. */
    public SamplingStepper(DecoderPipeline pipeline, Sampler sampler) {
        this.pipeline = pipeline;
        this.sampler = sampler;
    }

    @Override
    public TokenChoice next(long[] tokens) {
        return sampler.sample(pipeline.forward(tokens));
    }

    @Override
    public int length() {
        return pipeline.length();
    }

    @Override
    public void close() {
        pipeline.close();
    }
}
