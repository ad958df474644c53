package io.tandem.edge.inference;

import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.manifest.ModelManifest;
import io.tandem.model.tokenizer.Llama2cTokenizer;
import java.util.List;

/** What the API needs to know about the local model: its id, tokenizer, shape and manifests. */
public record ServedModel(String id, Llama2cTokenizer tokenizer, LlamaConfig config, List<ModelManifest> manifests) {

    public ServedModel {
        manifests = List.copyOf(manifests);
    }

    /** Prompt ids as the model was trained on them: BOS, then the text. */
    public int[] encodePrompt(String text) {
        return tokenizer.encode(text, true, false);
    }

    public int contextLength() {
        return config.contextLength();
    }
}
