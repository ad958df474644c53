package io.tandem.cli;

import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.engine.ModelTokenizer;
import io.tandem.model.export.ExportIndex;
import io.tandem.model.export.ModelExporter;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tandem export}: write a model's partitions as ONNX graphs with manifests (and a Triton repository). */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Write ONNX graphs and manifests, one folder per partition, optionally as a Triton model repository.")
final class ExportCommand implements Callable<Integer> {

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--out", paramLabel = "DIR", required = true,
            description = "Directory to create (it may exist if empty). Nothing is left there if the export fails.")
    Path out;

    @Option(names = "--split", paramLabel = "K", defaultValue = "0",
            description = "Export layers [0,K) and [K,L) as two partitions; 0 exports the whole model as one.")
    int split;

    @Option(names = "--triton", description = "Also write a Triton model repository under DIR/triton.")
    boolean triton;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter stdout = spec.commandLine().getOut();
        // refuse a used directory before a possibly long model load
        ModelOptions.argument("--out", () -> ModelExporter.requireUsableTarget(out));
        LoadedModel model = modelOptions.load();
        EngineOptions options = modelOptions.engineOptions(split, model);
        ModelExporter.ExportResult result = ModelExporter.export(model, options, out, triton);

        ExportIndex index = result.index();
        stdout.printf("exported %s (%s, sha256 %s) as %s %s to %s%n", index.modelName(), index.sourceFormat(),
                index.sourceSha256(), index.precision(), index.flavour(), result.directory());
        for (ExportIndex.Partition partition : index.partitions()) {
            stdout.printf("  %-14s layers %d..%d  graph sha256 %s%n", partition.name(), partition.firstLayer(),
                    partition.endLayer(), partition.graphSha256());
        }
        for (ExportIndex.ExportedFile file : index.files()) {
            stdout.printf("  %12d  %s%n", file.bytes(), result.directory().resolve(file.path()));
        }
        stdout.printf("  %12d  %s%n", index.totalBytes(), "bytes in all, indexed in "
                + result.directory().resolve(ExportIndex.FILE_NAME));
        if (index.tokenizer() == null) {
            stdout.println(model.tokenizer() instanceof ModelTokenizer.Gguf
                    ? "  (no tokenizer exported: a GGUF model's tokenizer stays in its .gguf file)"
                    : "  (no tokenizer copied: its file could not be re-read unchanged; pass --tokenizer when using the export)");
        }
        stdout.flush();
        return 0;
    }
}
