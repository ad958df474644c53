package io.tandem.model.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tandem.model.checkpoint.CheckpointException.Problem;
import io.tandem.model.llama.LayerWeights;
import io.tandem.model.llama.LlamaConfig;
import io.tandem.model.llama.LlamaWeights;
import io.tandem.model.llama.Matrix;
import io.tandem.model.llama.RopeLayout;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Consumer;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class Llama2cCheckpointReaderTest {

    private static final String V1 = "/io/tandem/model/checkpoint/stories260K-v1.bin";
    private static final String V2 = "/io/tandem/model/checkpoint/stories260K-v2.bin";
    private static final String V2_GS4 = "/io/tandem/model/checkpoint/stories260K-v2-gs4.bin";
    /** From shared/models/stories260K/LICENSE-NOTE.txt: the embedded copy must be that exact file. */
    private static final String STORIES_SHA256 = "b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696";

    private static final int DIM = 64;
    private static final int HIDDEN = 172;
    private static final int LAYERS = 5;
    private static final int KV_DIM = 32;
    private static final int VOCAB = 512;
    private static final int V0_HEADER = 28;
    private static final long V0_BYTES = 1_056_540;
    /** v0 offsets of the tensors the tests cut into. */
    private static final int V0_TOKEN_EMBEDDING = V0_HEADER;
    private static final int V0_RMS_ATT = V0_TOKEN_EMBEDDING + VOCAB * DIM * 4;
    private static final int V0_WQ = V0_RMS_ATT + LAYERS * DIM * 4;

    private static final Checkpoint V0 = Llama2cCheckpointReader.embedded();

    static byte[] resource(String name) {
        try (InputStream in = Llama2cCheckpointReaderTest.class.getResourceAsStream(name)) {
            assertThat(in).as("test resource " + name).isNotNull();
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] v0Bytes() {
        return resource(Llama2cCheckpointReader.EMBEDDED_RESOURCE);
    }

    static ByteBuffer le(byte[] bytes) {
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    static String sha256(byte[] bytes) throws NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** Every weight in a fixed order, for comparing two loads tensor by tensor. */
    static List<Matrix> matrices(LlamaWeights weights) {
        List<Matrix> all = new ArrayList<>();
        all.add(weights.tokenEmbedding());
        for (LayerWeights layer : weights.layers()) {
            all.addAll(List.of(layer.attentionNorm(), layer.wq(), layer.wk(), layer.wv(), layer.wo(),
                    layer.ffnNorm(), layer.w1Gate(), layer.w2Down(), layer.w3Up()));
        }
        all.add(weights.finalNorm());
        if (weights.classifier() != null) {
            all.add(weights.classifier());
        }
        return all;
    }

    static boolean isNorm(Matrix m) {
        return m.name().endsWith("norm.weight");
    }

    /** Asserts the call fails with the given problem and a message that starts with the source name. */
    static void assertFails(ThrowingCallable call, Problem problem, String source, Consumer<String> messageCheck) {
        assertThatThrownBy(call).isInstanceOfSatisfying(CheckpointException.class, e -> {
            assertThat(e.problem()).as(e.getMessage()).isEqualTo(problem);
            assertThat(e.source()).isEqualTo(source);
            assertThat(e.getMessage()).startsWith(source + ": ");
            messageCheck.accept(e.getMessage());
        });
    }

    // ---------------------------------------------------------------- v0

    @Test
    void theEmbeddedV0CheckpointHasStories260kDimensions() {
        LlamaConfig config = V0.weights().config();
        assertThat(config).isEqualTo(new LlamaConfig("llama", 64, 172, 5, 8, 4, 512, 512, 1e-5f, 10000f,
                RopeLayout.ADJACENT_PAIRS, true, false));
        assertThat(V0.version()).isZero();
        assertThat(V0.sourceFormat()).isEqualTo("fp32");
        assertThat(V0.sha256()).isEqualTo(STORIES_SHA256);
        assertThat(V0.source()).isEqualTo("classpath:" + Llama2cCheckpointReader.EMBEDDED_RESOURCE);
        assertThat(V0.weights().classifier()).isNull();
        assertThat(V0.weights().classifierOrEmbedding()).isSameAs(V0.weights().tokenEmbedding());
        long parameters = matrices(V0.weights()).stream().mapToLong(Matrix::size).sum();
        assertThat(parameters).isEqualTo(260_032);
    }

    @Test
    void v0TensorsComeFromTheirLegacyOffsets() {
        ByteBuffer raw = le(v0Bytes());
        LlamaWeights w = V0.weights();
        assertThat(w.tokenEmbedding().data()[0]).isEqualTo(raw.getFloat(V0_TOKEN_EMBEDDING));
        assertThat(w.tokenEmbedding().get(511, 63)).isEqualTo(raw.getFloat(V0_RMS_ATT - 4));
        assertThat(w.layers().get(0).attentionNorm().data()[0]).isEqualTo(raw.getFloat(V0_RMS_ATT));
        assertThat(w.layers().get(4).attentionNorm().data()[63]).isEqualTo(raw.getFloat(V0_WQ - 4));
        assertThat(w.layers().get(0).wq().get(0, 1)).isEqualTo(raw.getFloat(V0_WQ + 4));
        // the row-major [out, in] convention: row 1 of wq starts dim floats later
        assertThat(w.layers().get(0).wq().get(1, 0)).isEqualTo(raw.getFloat(V0_WQ + DIM * 4));
        assertThat(w.layers().get(0).wk().rows()).isEqualTo(KV_DIM);
        assertThat(w.layers().get(0).w2Down().cols()).isEqualTo(HIDDEN);
        // the final norm sits right before the 2 * seq_len * head_size / 2 unused rotary floats
        int rotaryFloats = 512 * 8;
        assertThat(w.finalNorm().data()[63]).isEqualTo(raw.getFloat((int) V0_BYTES - rotaryFloats * 4 - 4));
    }

    @Test
    void pathAndStreamReadTheSameCheckpoint(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("stories260K.bin");
        Files.write(file, v0Bytes());
        Checkpoint fromPath = Llama2cCheckpointReader.read(file);
        Checkpoint fromStream = Llama2cCheckpointReader.read(new ByteArrayInputStream(v0Bytes()), "s");
        assertThat(fromPath.source()).isEqualTo(file.toString());
        assertThat(fromPath.sha256()).isEqualTo(STORIES_SHA256).isEqualTo(fromStream.sha256());
        assertThat(fromPath.weights().config()).isEqualTo(fromStream.weights().config());
        assertSameWeights(fromPath.weights(), V0.weights());
    }

    @Test
    void anUnsharedClassifierV0FileLoadsItsClassifier(@TempDir Path dir) throws IOException {
        byte[] unshared = unsharedV0();
        Checkpoint checkpoint = Llama2cCheckpointReader.read(unshared, "unshared-v0.bin");
        LlamaWeights weights = checkpoint.weights();
        assertThat(weights.config().tiedClassifier()).isFalse();
        assertThat(weights.config().vocabSize()).isEqualTo(512);
        assertThat(weights.classifier()).isNotNull();
        assertThat(weights.classifierOrEmbedding()).isSameAs(weights.classifier());
        float[] embedding = weights.tokenEmbedding().data();
        float[] classifier = weights.classifier().data();
        for (int i = 0; i < embedding.length; i++) {
            assertThat(classifier[i]).isEqualTo(-embedding[i]);
        }

        Path file = dir.resolve("unshared.bin");
        Files.write(file, unshared);
        assertThat(Llama2cCheckpointReader.read(file).weights().classifier().data()).containsExactly(classifier);
    }

    /** stories260K with a negative vocabulary size and a classifier that is the negated embedding. */
    static byte[] unsharedV0() {
        byte[] v0 = v0Bytes();
        le(v0).putInt(20, -VOCAB);
        byte[] classifier = new byte[VOCAB * DIM * 4];
        ByteBuffer source = le(v0Bytes());
        ByteBuffer target = le(classifier);
        for (int i = 0; i < VOCAB * DIM; i++) {
            target.putFloat(i * 4, -source.getFloat(V0_TOKEN_EMBEDDING + i * 4));
        }
        return concat(v0, classifier);
    }

    // ---------------------------------------------------------------- v1 and v2

    @Test
    void v1HoldsExactlyTheV0Weights() throws NoSuchAlgorithmException {
        byte[] bytes = resource(V1);
        Checkpoint v1 = Llama2cCheckpointReader.read(bytes, "stories260K-v1.bin");
        assertThat(v1.version()).isEqualTo(1);
        assertThat(v1.sourceFormat()).isEqualTo("fp32");
        assertThat(v1.sha256()).isEqualTo(sha256(bytes)).isNotEqualTo(V0.sha256());
        assertThat(v1.weights().config()).isEqualTo(V0.weights().config());
        assertSameWeights(v1.weights(), V0.weights());
    }

    static void assertSameWeights(LlamaWeights actual, LlamaWeights expected) {
        List<Matrix> a = matrices(actual);
        List<Matrix> e = matrices(expected);
        assertThat(a).hasSameSizeAs(e);
        for (int i = 0; i < a.size(); i++) {
            assertThat(a.get(i).name()).isEqualTo(e.get(i).name());
            assertThat(a.get(i).rows()).isEqualTo(e.get(i).rows());
            assertThat(a.get(i).cols()).isEqualTo(e.get(i).cols());
            assertThat(Arrays.equals(a.get(i).data(), e.get(i).data())).as(a.get(i).name()).isTrue();
        }
    }

    @ParameterizedTest
    @CsvSource({V2 + ",64", V2_GS4 + ",4"})
    void v2IsWithinHalfAQuantizationStepOfV0(String resource, int groupSize) throws NoSuchAlgorithmException {
        byte[] bytes = resource(resource);
        Checkpoint v2 = Llama2cCheckpointReader.read(bytes, resource);
        assertThat(v2.version()).isEqualTo(2);
        assertThat(v2.sourceFormat()).isEqualTo("q8_0 group " + groupSize);
        assertThat(v2.sha256()).isEqualTo(sha256(bytes));
        assertThat(v2.weights().config()).isEqualTo(V0.weights().config());

        List<Matrix> quantized = matrices(v2.weights());
        List<Matrix> exact = matrices(V0.weights());
        assertThat(quantized).hasSameSizeAs(exact);
        int differing = 0;
        for (int t = 0; t < exact.size(); t++) {
            Matrix q = quantized.get(t);
            Matrix x = exact.get(t);
            assertThat(q.name()).isEqualTo(x.name());
            if (isNorm(x)) {
                assertThat(Arrays.equals(q.data(), x.data())).as("%s stays fp32", x.name()).isTrue();
                continue;
            }
            // groups run over the flattened tensor; Q8_0 scale = max|w| / 127, rounding error <= scale / 2
            for (int base = 0; base < x.data().length; base += groupSize) {
                float max = 0;
                for (int i = base; i < base + groupSize; i++) {
                    max = Math.max(max, Math.abs(x.data()[i]));
                }
                float scale = max / 127f;
                double bound = scale / 2 * (1 + 1e-5) + 1e-12;
                for (int i = base; i < base + groupSize; i++) {
                    double error = Math.abs((double) q.data()[i] - x.data()[i]);
                    assertThat(error).as("%s[%d]", x.name(), i).isLessThanOrEqualTo(bound);
                    if (q.data()[i] != x.data()[i]) {
                        differing++;
                    }
                }
            }
        }
        assertThat(differing).as("quantization changes most values").isGreaterThan(100_000);
    }

    @Test
    void dequantizationIsInt8TimesItsGroupScale() {
        byte[] q = {1, -2, 127, -127, 5, 99};
        float[] scales = {0.5f, 0.25f, 42f};
        assertThat(Llama2cCheckpointReader.dequantize(q, 4, scales, 2))
                .containsExactly(0.5f, -1f, 31.75f, -31.75f);
    }

    @Test
    void unsharedClassifiersLoadInV1AndV2() {
        // v1: clear the shared flag and append the classifier (the embedding again)
        byte[] v1 = resource(V1);
        v1[36] = 0;
        int v1Embedding = 256 + (LAYERS * 2 + 1) * DIM * 4;
        byte[] v1Unshared = concat(v1, Arrays.copyOfRange(v1, v1Embedding, v1Embedding + VOCAB * DIM * 4));
        LlamaWeights w1 = Llama2cCheckpointReader.read(v1Unshared, "v1-unshared").weights();
        assertThat(w1.config().tiedClassifier()).isFalse();
        assertThat(w1.classifier().data()).containsExactly(V0.weights().tokenEmbedding().data());

        // v2: the classifier's int8 values and scales follow the last w3, a copy of the embedding's block
        byte[] v2 = resource(V2);
        v2[36] = 0;
        int v2Embedding = 256 + (LAYERS * 2 + 1) * DIM * 4;
        int embeddingBlock = VOCAB * DIM + VOCAB * DIM / 64 * 4;
        byte[] v2Unshared = concat(v2, Arrays.copyOfRange(v2, v2Embedding, v2Embedding + embeddingBlock));
        LlamaWeights w2 = Llama2cCheckpointReader.read(v2Unshared, "v2-unshared").weights();
        assertThat(w2.classifier().data()).containsExactly(w2.tokenEmbedding().data());
    }

    // ---------------------------------------------------------------- damaged files

    @ParameterizedTest
    @ValueSource(ints = {0, 10, V0_HEADER, V0_HEADER + 1000, V0_WQ + 3 * DIM * DIM * 4 + 17, (int) V0_BYTES - 1})
    void aTruncatedV0StreamSaysWhatWasBeingRead(int length) {
        byte[] cut = Arrays.copyOf(v0Bytes(), length);
        assertFails(() -> Llama2cCheckpointReader.read(cut, "cut.bin"), Problem.TRUNCATED, "cut.bin",
                message -> {
                    assertThat(message).contains("file ends at byte " + length);
                    if (length >= V0_HEADER) {
                        assertThat(message).contains("describes " + V0_BYTES + " bytes");
                    }
                });
    }

    @Test
    void aTruncatedTensorIsNamed() {
        byte[] cut = Arrays.copyOf(v0Bytes(), V0_WQ + 3 * DIM * DIM * 4 + 17);
        assertFails(() -> Llama2cCheckpointReader.read(cut, "cut.bin"), Problem.TRUNCATED, "cut.bin",
                message -> assertThat(message).contains("layers.3.attention.wq.weight"));
    }

    @ParameterizedTest
    @ValueSource(ints = {10, V0_HEADER + 1000, V0_WQ + 4097, (int) V0_BYTES - 1})
    void aTruncatedV0FileGivesExpectedAndActualSizes(int length, @TempDir Path dir) throws IOException {
        Path file = dir.resolve("cut.bin");
        Files.write(file, Arrays.copyOf(v0Bytes(), length));
        assertFails(() -> Llama2cCheckpointReader.read(file), Problem.TRUNCATED, file.toString(), message -> {
            if (length >= V0_HEADER) {
                assertThat(message).contains("file is " + length + " bytes").contains("describes " + V0_BYTES + " bytes");
            } else {
                assertThat(message).contains("file ends at byte " + length);
            }
        });
    }

    @Test
    void aMissingClassifierIsATruncation(@TempDir Path dir) throws IOException {
        byte[] withoutClassifier = Arrays.copyOf(unsharedV0(), (int) V0_BYTES);
        long expected = V0_BYTES + VOCAB * DIM * 4;
        assertFails(() -> Llama2cCheckpointReader.read(withoutClassifier, "no-wcls.bin"), Problem.TRUNCATED,
                "no-wcls.bin", message -> assertThat(message)
                        .contains("output.weight")
                        .contains("file ends at byte " + V0_BYTES)
                        .contains("describes " + expected + " bytes"));

        Path file = dir.resolve("no-wcls.bin");
        Files.write(file, withoutClassifier);
        assertFails(() -> Llama2cCheckpointReader.read(file), Problem.TRUNCATED, file.toString(),
                message -> assertThat(message).contains("file is " + V0_BYTES + " bytes")
                        .contains("describes " + expected + " bytes").contains("separate classifier"));
    }

    @ParameterizedTest
    @CsvSource({V1 + ",100", V1 + ",300", V1 + ",1040383", V2 + ",255", V2 + ",278600", V2_GS4 + ",4000"})
    void truncatedV1AndV2FilesFail(String resource, int length) {
        byte[] cut = Arrays.copyOf(resource(resource), length);
        assertFails(() -> Llama2cCheckpointReader.read(cut, "cut.bin"), Problem.TRUNCATED, "cut.bin",
                message -> assertThat(message).contains("file ends at byte " + length));
    }

    @Test
    void trailingBytesAreRejected(@TempDir Path dir) throws IOException {
        byte[] longer = concat(v0Bytes(), new byte[] {1, 2, 3});
        assertFails(() -> Llama2cCheckpointReader.read(longer, "long.bin"), Problem.TRAILING_DATA, "long.bin",
                message -> assertThat(message).contains("3 unexpected bytes").contains(String.valueOf(V0_BYTES)));
        Path file = dir.resolve("long.bin");
        Files.write(file, concat(resource(V2), new byte[4]));
        assertFails(() -> Llama2cCheckpointReader.read(file), Problem.TRAILING_DATA, file.toString(),
                message -> assertThat(message).contains("4 unexpected bytes"));
    }

    @ParameterizedTest(name = "v0 header int {0} = {1}: {2}")
    @CsvSource(delimiter = '|', value = {
        "0 | 0          | dim is 0",
        "0 | -64        | dim is -64",
        "0 | 1073741824 | dim is 1073741824",
        "4 | -1         | hidden_dim is -1",
        "8 | 0          | n_layers is 0",
        "12 | 7         | dim 64 is not divisible by n_heads 7",
        "16 | 3         | n_heads 8 is not divisible by n_kv_heads 3",
        "12 | 64        | head size 1 is odd",
        "20 | 0         | vocab_size is 0",
        "20 | 1073741824 | vocab_size is 1073741824",
        "20 | -2147483648 | vocab_size is -2147483648",
        "24 | -512      | seq_len is -512"})
    void impossibleV0HeaderValuesAreNamed(int offset, int value, String expected) {
        byte[] bytes = v0Bytes();
        le(bytes).putInt(offset, value);
        assertFails(() -> Llama2cCheckpointReader.read(bytes, "bad.bin"), Problem.INVALID_HEADER, "bad.bin",
                message -> assertThat(message).contains(expected));
    }

    @Test
    void aPlausibleHeaderForABiggerModelIsATruncation() {
        byte[] bytes = v0Bytes();
        le(bytes).putInt(8, 6); // six layers
        assertFails(() -> Llama2cCheckpointReader.read(bytes, "bigger.bin"), Problem.TRUNCATED, "bigger.bin",
                message -> assertThat(message).contains("n_layers=6"));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 3, 7, -1})
    void anUnknownVersionIsRejected(int version) {
        byte[] bytes = resource(V1);
        le(bytes).putInt(4, version);
        assertFails(() -> Llama2cCheckpointReader.read(bytes, "v.bin"), Problem.UNSUPPORTED_VERSION, "v.bin",
                message -> assertThat(message).contains("version " + version));
    }

    @Test
    void aDamagedMagicIsReportedAsSuch() {
        byte[] bytes = resource(V2);
        bytes[0] = 'x';
        assertFails(() -> Llama2cCheckpointReader.read(bytes, "magic.bin"), Problem.BAD_MAGIC, "magic.bin",
                message -> assertThat(message).contains("0x616b3432").contains("version 2"));
    }

    @Test
    void impossibleV1AndV2HeaderValuesAreNamed() {
        byte[] flag = resource(V1);
        flag[36] = 2;
        assertFails(() -> Llama2cCheckpointReader.read(flag, "flag.bin"), Problem.INVALID_HEADER, "flag.bin",
                message -> assertThat(message).contains("shared_classifier flag is 2"));

        byte[] negativeVocab = resource(V1);
        le(negativeVocab).putInt(28, -512);
        assertFails(() -> Llama2cCheckpointReader.read(negativeVocab, "vocab.bin"), Problem.INVALID_HEADER,
                "vocab.bin", message -> assertThat(message).contains("vocab_size is -512"));

        byte[] zeroGroup = resource(V2);
        le(zeroGroup).putInt(37, 0);
        assertFails(() -> Llama2cCheckpointReader.read(zeroGroup, "gs.bin"), Problem.INVALID_HEADER, "gs.bin",
                message -> assertThat(message).contains("group_size is 0"));
    }

    @ParameterizedTest
    @ValueSource(ints = {3, 5, 172})
    void aGroupSizeThatDoesNotDivideATensorIsRejected(int groupSize) {
        byte[] bytes = resource(V2);
        le(bytes).putInt(37, groupSize);
        assertFails(() -> Llama2cCheckpointReader.read(bytes, "gs.bin"), Problem.GROUP_SIZE_MISMATCH, "gs.bin",
                message -> assertThat(message).contains("group_size " + groupSize + " does not divide"));
    }
}
