package io.tandem.model.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.model.generate.GenerationRequest;
import io.tandem.model.gguf.GgmlType;
import io.tandem.model.gguf.GgufModelWriter;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.GraphSpec;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.runtime.RuntimeOptions;
import io.tandem.model.sampling.SamplingParams;
import io.tandem.model.tokenizer.Llama2cTokenizer;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Graphs through the disk cache: a second start opens what the first built and gives the same greedy ids;
 * an entry that was altered, is incomplete or was built for something else is rebuilt, never used.
 */
class GraphStoreTest {

    @TempDir
    static Path models;
    @TempDir
    Path cache;

    static Path file;
    static int[] uncached;

    static final EngineOptions SPLIT_INT8 = new EngineOptions(WeightPrecision.INT8, GraphFlavour.FAST, 2,
            RuntimeOptions.threads(1));

    @BeforeAll
    static void writeModel() throws IOException {
        LoadedModel llama2c = LoadedModel.embedded();
        Llama2cTokenizer tokenizer = ((ModelTokenizer.Llama2c) llama2c.tokenizer()).tokenizer();
        file = models.resolve("stories260K-q8_0.gguf");
        GgufModelWriter.write(file, "stories260K", llama2c.weights(), GgufModelWriter.llama2cVocabulary(tokenizer),
                GgmlType.Q8_0);
        try (Engine engine = Engine.open(LoadedModel.load(file, null), SPLIT_INT8)) {
            uncached = greedy(engine);
        }
    }

    static int[] greedy(Engine engine) {
        return engine.generate(new GenerationRequest(new int[] {1}, 40, List.of(), SamplingParams.greedy())).allIds();
    }

    /** A fresh start: the model loaded anew, a new store on the same directory. */
    int[] start(GraphStore store, EngineOptions options) throws IOException {
        try (Engine engine = Engine.open(LoadedModel.load(file, null), options, store)) {
            return greedy(engine);
        }
    }

    List<Path> entries() throws IOException {
        try (Stream<Path> list = Files.list(cache)) {
            return list.sorted().toList();
        }
    }

    @Test
    void secondStartBuildsNothingAndGivesTheSameIds() throws IOException {
        GraphStore first = GraphStore.cached(cache);
        assertThat(start(first, SPLIT_INT8)).containsExactly(uncached);
        assertThat(first.builds()).isEqualTo(2);
        assertThat(entries()).hasSize(2).allSatisfy(entry -> assertThat(entry.resolve(GraphStore.INDEX_FILE)).exists());

        GraphStore second = GraphStore.cached(cache);
        assertThat(start(second, SPLIT_INT8)).containsExactly(uncached);
        assertThat(second.builds()).isZero();
    }

    @Test
    void startsRacingToBuildTheSameEntriesBothSucceedAndLeaveOneEach() throws Exception {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(3);
        try {
            List<java.util.concurrent.Future<int[]>> runs = new java.util.ArrayList<>();
            for (int i = 0; i < 3; i++) {
                runs.add(pool.submit(() -> start(GraphStore.cached(cache), SPLIT_INT8)));
            }
            for (var run : runs) {
                assertThat(run.get()).containsExactly(uncached);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(entries()).hasSize(2).noneMatch(p -> p.getFileName().toString().startsWith("."));
    }

    @Test
    void corruptedEntryIsDetectedAndRebuilt() throws IOException {
        start(GraphStore.cached(cache), SPLIT_INT8);
        Path data = entries().getFirst().resolve(GraphStore.DATA_FILE);
        byte[] original = Files.readAllBytes(data);
        try (FileChannel channel = FileChannel.open(data, StandardOpenOption.WRITE)) {
            // one weight byte changed, the size kept: only the hash can tell
            channel.write(java.nio.ByteBuffer.wrap(new byte[] {(byte) (original[original.length / 2] ^ 0x5A)}),
                    original.length / 2);
        }

        GraphStore again = GraphStore.cached(cache);
        assertThat(start(again, SPLIT_INT8)).containsExactly(uncached);
        assertThat(again.builds()).isEqualTo(1);
        assertThat(Files.readAllBytes(data)).isEqualTo(original);
    }

    @Test
    void aDamagedEntryIsTakenAsideBeforeItIsDeletedAndWhatDeadBuildsLeftIsSwept() throws IOException {
        start(GraphStore.cached(cache), SPLIT_INT8);
        List<Path> built = entries();
        Files.delete(built.getFirst().resolve(GraphStore.INDEX_FILE));
        // what killed processes leave: a folder taken aside, a staging folder abandoned hours ago, and one
        // that a build running now is still writing
        Path aside = Files.createDirectories(cache.resolve(".x.trash-1"));
        Files.writeString(aside.resolve("model.onnx.data"), "stale");
        Path abandoned = Files.createDirectories(cache.resolve(".y.partial-2"));
        Files.setLastModifiedTime(abandoned, java.nio.file.attribute.FileTime.fromMillis(
                System.currentTimeMillis() - java.time.Duration.ofHours(2).toMillis()));
        Path running = Files.createDirectories(cache.resolve(".z.partial-3"));

        GraphStore again = GraphStore.cached(cache);
        assertThat(aside).doesNotExist();
        assertThat(abandoned).doesNotExist();
        assertThat(running).exists();
        assertThat(start(again, SPLIT_INT8)).containsExactly(uncached);
        assertThat(again.builds()).isEqualTo(1);
        // the rebuilt entry stands where the damaged one was; nothing taken aside is left over
        assertThat(entries()).containsExactlyInAnyOrderElementsOf(
                java.util.stream.Stream.concat(built.stream(), java.util.stream.Stream.of(running)).toList());
    }

    @Test
    void alteredGraphIsCaughtBeforeOnnxRuntimeSeesIt() throws IOException {
        EngineOptions whole = new EngineOptions(WeightPrecision.INT8, GraphFlavour.FAST, 0, RuntimeOptions.threads(1));
        start(GraphStore.cached(cache), whole);
        Path graph = entries().getFirst().resolve(GraphStore.MODEL_FILE);
        byte[] original = Files.readAllBytes(graph);
        byte[] altered = original.clone();
        altered[altered.length / 3] ^= 0x10;
        Files.write(graph, altered);
        LoadedModel model = LoadedModel.load(file, null);
        GraphSpec spec = GraphSpec.whole(model.weights().config(), WeightPrecision.INT8, GraphFlavour.FAST);
        List<Path> opened = new java.util.ArrayList<>();
        GraphStore again = GraphStore.cached(cache);
        GraphStore.Opened<AutoCloseable> result = again.open(model, spec, false, f -> {
            try {
                assertThat(Files.readAllBytes(f)).as("what the opener is given").isEqualTo(original);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            opened.add(f);
            return () -> { };
        });
        assertThat(again.builds()).isEqualTo(1);
        assertThat(opened).hasSize(1);
        assertThat(result.manifest().graphSha256()).isNotBlank();
    }

    @Test
    void anOpenerFailingOnASoundEntryIsReportedNotRebuilt() throws IOException {
        EngineOptions whole = new EngineOptions(WeightPrecision.INT8, GraphFlavour.FAST, 0, RuntimeOptions.threads(1));
        start(GraphStore.cached(cache), whole);
        LoadedModel model = LoadedModel.load(file, null);
        GraphSpec spec = GraphSpec.whole(model.weights().config(), WeightPrecision.INT8, GraphFlavour.FAST);
        GraphStore again = GraphStore.cached(cache);
        assertThatThrownBy(() -> again.open(model, spec, false, f -> {
            throw new IllegalStateException("no such provider");
        })).hasMessage("no such provider");
        assertThat(again.builds()).isZero();
        assertThat(entries()).hasSize(1);
    }

    @Test
    void incompleteOrForeignEntriesAreRebuilt() throws IOException {
        EngineOptions whole = new EngineOptions(WeightPrecision.INT8, GraphFlavour.FAST, 0, RuntimeOptions.threads(1));
        start(GraphStore.cached(cache), whole);
        Path entry = entries().getFirst();

        Files.delete(entry.resolve(GraphStore.INDEX_FILE));
        GraphStore afterLoss = GraphStore.cached(cache);
        assertThat(start(afterLoss, whole)).containsExactly(greedyUncached(whole));
        assertThat(afterLoss.builds()).isEqualTo(1);

        Path index = entry.resolve(GraphStore.INDEX_FILE);
        Files.writeString(index, Files.readString(index).replace("builder=", "builder=0"));
        GraphStore afterEdit = GraphStore.cached(cache);
        start(afterEdit, whole);
        assertThat(afterEdit.builds()).isEqualTo(1);

        Files.delete(entry.resolve(GraphStore.MODEL_FILE));
        GraphStore afterDelete = GraphStore.cached(cache);
        start(afterDelete, whole);
        assertThat(afterDelete.builds()).isEqualTo(1);
        assertThat(entries()).hasSize(1);
        assertThatCode(() -> GraphStore.verify(entry, GraphStore.keyText(LoadedModel.load(file, null),
                GraphSpec.whole(LoadedModel.load(file, null).weights().config(), WeightPrecision.INT8, GraphFlavour.FAST),
                false))).doesNotThrowAnyException();
    }

    @Test
    void everythingThatChangesTheGraphChangesTheEntry() throws IOException {
        LoadedModel model = LoadedModel.load(file, null);
        GraphSpec spec = GraphSpec.whole(model.weights().config(), WeightPrecision.INT8, GraphFlavour.FAST);
        List<String> names = Stream.of(
                GraphStore.folderName(model, spec, false),
                GraphStore.folderName(model, spec, true),
                GraphStore.folderName(model, spec.withRange(0, 2), false),
                GraphStore.folderName(model, spec.withRange(0, 2).withExitHead(), false),
                GraphStore.folderName(model, spec.withAllPositionLogits(true), false),
                GraphStore.folderName(model, spec.withActivations(io.tandem.model.onnx.ActivationPrecision.FP32), false),
                GraphStore.folderName(model, GraphSpec.whole(model.weights().config(), WeightPrecision.INT4,
                        GraphFlavour.FAST), false),
                GraphStore.folderName(model, GraphSpec.whole(model.weights().config(), WeightPrecision.INT8,
                        GraphFlavour.PORTABLE), false),
                GraphStore.folderName(new LoadedModel(model.name(), model.weights(), model.sourceFormat(),
                        "0".repeat(64), model.tokenizer(), model.weightSource()), spec, false)).toList();
        assertThat(names).doesNotHaveDuplicates();
        assertThat(GraphStore.keyText(model, spec, false)).contains("sha256=" + model.sourceSha256())
                .contains("builder=" + io.tandem.model.onnx.GraphVersion.BUILDER_VERSION);
    }

    @Test
    void partitionsBuildTheirRangesThroughTheCacheOnce() throws IOException {
        EngineOptions options = new EngineOptions(WeightPrecision.INT8, GraphFlavour.FAST, 0, RuntimeOptions.threads(1));
        GraphStore store = GraphStore.cached(cache);
        try (Partitions partitions = new Partitions(LoadedModel.load(file, null), options, store)) {
            partitions.range(0, 2);
            partitions.exitRange(2);
            partitions.batchedRange(0, 5, 2);
        }
        assertThat(store.builds()).isEqualTo(3);
        GraphStore next = GraphStore.cached(cache);
        try (Partitions partitions = new Partitions(LoadedModel.load(file, null), options, next)) {
            partitions.range(0, 2);
            partitions.exitRange(2);
            partitions.batchedRange(0, 5, 2);
        }
        assertThat(next.builds()).isZero();
    }

    int[] greedyUncached(EngineOptions options) throws IOException {
        try (Engine engine = Engine.open(LoadedModel.load(file, null), options)) {
            return greedy(engine);
        }
    }
}
