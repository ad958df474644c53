package io.tandem.cli;

import io.tandem.model.engine.LoadedModel;
import io.tandem.model.engine.ModelTokenizer;
import io.tandem.model.gguf.GgmlType;
import io.tandem.model.gguf.GgufModelWriter;
import io.tandem.model.llama.LlamaConfig;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code tandem convert}: write a llama2.c model as a GGUF file that llama.cpp and other GGUF tools load. */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Write a llama2.c checkpoint (the embedded stories260K by default) and its tokenizer as a GGUF "
                + "file: llama.* hyperparameters, a SentencePiece vocabulary, llama.cpp's tensor names.")
final class ConvertCommand implements Callable<Integer> {

    @Option(names = "--model", paramLabel = "PATH",
            description = "llama2.c checkpoint (v0, v1, or v2 Q8_0). Default: the embedded stories260K.")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "PATH",
            description = "llama2.c tokenizer.bin. Default: tokenizer.bin beside --model, else the embedded one.")
    Path tokenizer;

    @Option(names = "--out", paramLabel = "FILE.gguf", required = true,
            description = "The GGUF file to write; it appears whole or not at all.")
    Path out;

    @Option(names = "--type", paramLabel = "f32|f16|q8_0|q4_0", defaultValue = "f32",
            description = "How matrices are stored (norms stay f32, as do matrices whose rows are not whole blocks "
                    + "of 32); default: ${DEFAULT-VALUE}.")
    String type;

    @Option(names = "--force", description = "Replace --out if it exists.")
    boolean force;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter stdout = spec.commandLine().getOut();
        GgmlType fileType = ModelOptions.argument("--type", () -> parseType(type));
        Path target = out.toAbsolutePath().normalize();
        // checked before the model is read, so a mistake costs nothing
        ModelOptions.argument("--out", () -> {
            if (Files.isDirectory(target)) {
                throw new IllegalArgumentException(target + " is a directory, not a file to write");
            }
            if (Files.exists(target) && !force) {
                throw new IllegalArgumentException(target + " exists; pass --force to replace it");
            }
            if (target.getParent() == null || !Files.isDirectory(target.getParent())) {
                throw new IllegalArgumentException("the folder of " + target + " does not exist");
            }
            return target;
        });
        if (model != null && LoadedModel.isGguf(model)) {
            throw new IllegalArgumentException("--model: " + model + " is a GGUF file already; convert reads llama2.c checkpoints");
        }
        LoadedModel loaded = model == null ? LoadedModel.embedded() : LoadedModel.llama2c(model, tokenizer);
        ModelTokenizer.Llama2c vocabulary = (ModelTokenizer.Llama2c) loaded.tokenizer();
        String name = model == null ? LoadedModel.EMBEDDED_NAME : loaded.name();
        GgufModelWriter.write(target, name, loaded.weights(), GgufModelWriter.llama2cVocabulary(vocabulary.tokenizer()),
                fileType);

        LlamaConfig c = loaded.weights().config();
        stdout.printf("wrote %s: %s as GGUF %s (llama, %d layers, dim %d, %d heads / %d kv, %d tokens, context %d%s), "
                        + "%d bytes%n", target, name, fileType, c.layers(), c.dim(), c.heads(), c.kvHeads(),
                c.vocabSize(), c.contextLength(), c.tiedClassifier() ? ", tied classifier" : "", Files.size(target));
        stdout.flush();
        return 0;
    }

    static GgmlType parseType(String text) {
        for (GgmlType t : GgufModelWriter.fileTypes()) {
            if (t.name().equalsIgnoreCase(text)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown GGUF type '" + text + "': expected f32, f16, q8_0 or q4_0");
    }
}
