package io.tandem.model.generate;

import io.tandem.model.runtime.GraphSession;
import io.tandem.model.runtime.KvSequence;
import io.tandem.model.runtime.StageInput;
import io.tandem.model.runtime.StageOutput;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs a chain of partitions in this process: the first takes token ids, each next one takes the
 * residual stream the previous one emitted, handed across as little-endian bytes exactly as it
 * would travel between an edge and a cloud.
 */
public final class LocalPipeline implements DecoderPipeline {

    private final List<KvSequence> stages = new ArrayList<>();

    public LocalPipeline(List<GraphSession> partitions) {
        if (partitions.isEmpty()) {
            throw new IllegalArgumentException("a pipeline needs at least one partition");
        }
        for (GraphSession partition : partitions) {
            stages.add(partition.newSequence());
        }
    }

    @Override
    public FloatBuffer forward(long[] tokens) {
        StageOutput output = stages.getFirst().run(new StageInput.Tokens(tokens));
        for (int i = 1; i < stages.size(); i++) {
            StageOutput.Hidden hidden = (StageOutput.Hidden) output;
            output = stages.get(i).run(new StageInput.Hidden(hidden.bytes(), hidden.positions()));
        }
        return switch (output) {
            case StageOutput.Logits logits -> logits.allPositions() ? lastRow(logits) : logits.values();
            case StageOutput.Hidden hidden -> throw new IllegalStateException(
                    "the last partition emits hidden states, not logits: the chain does not reach the last layer");
        };
    }

    private static FloatBuffer lastRow(StageOutput.Logits logits) {
        FloatBuffer all = logits.values();
        int vocab = all.remaining() / logits.positions();
        return all.duplicate().position(all.position() + (logits.positions() - 1) * vocab).slice();
    }

    @Override
    public int length() {
        return stages.getFirst().length();
    }

    @Override
    public void truncate(int length) {
        stages.forEach(stage -> stage.truncate(length));
    }

    @Override
    public void close() {
        stages.forEach(KvSequence::close);
    }
}
