package io.tandem.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.tandem.model.export.ExportIndex;
import io.tandem.model.export.ExportedModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExportCommandTest {

    @TempDir
    Path dir;

    @Test
    void exportsTheEmbeddedModelSplitWithATritonRepository() throws IOException {
        Path out = dir.resolve("export");
        CliRunner run = CliRunner.run("export", "--out", out.toString(), "--split", "2", "--flavour", "portable", "--triton");

        assertThat(run.exitCode()).as(run.err()).isZero();
        ExportedModel exported = ExportedModel.open(out);
        ExportIndex index = exported.index();
        assertThat(index.partitions()).extracting(ExportIndex.Partition::name).containsExactly("layers-0-2", "layers-2-5");
        assertThat(run.out())
                .contains("exported stories260K")
                .contains("sha256 " + index.sourceSha256())
                .contains("as fp32 portable to " + out.toAbsolutePath());
        for (ExportIndex.Partition partition : index.partitions()) {
            assertThat(run.out()).contains(partition.name()).contains("graph sha256 " + partition.graphSha256());
        }
        for (ExportIndex.ExportedFile file : index.files()) {
            assertThat(run.out()).containsPattern("\\s" + file.bytes() + "  " + java.util.regex.Pattern.quote(
                    out.toAbsolutePath().resolve(file.path()).toString()) + "\\R");
        }
        assertThat(out.resolve("triton/stories260K_2_5/config.pbtxt")).isRegularFile();
    }

    @Test
    void exportsWholeQuantizedByDefaultFlavour() throws IOException {
        Path out = dir.resolve("int8");
        CliRunner run = CliRunner.run("export", "--out", out.toString(), "--weights", "int8");
        assertThat(run.exitCode()).as(run.err()).isZero();
        ExportIndex index = ExportedModel.open(out).index();
        assertThat(index.precision()).isEqualTo("int8");
        assertThat(index.partitions()).extracting(ExportIndex.Partition::name).containsExactly("layers-0-5");
        assertThat(index.tritonRepository()).isNull();
        assertThat(out.resolve("triton")).doesNotExist();
    }

    @Test
    void aNonEmptyOutIsAUsageErrorAndStaysUntouched() throws IOException {
        Path out = Files.createDirectory(dir.resolve("used"));
        Files.writeString(out.resolve("notes.txt"), "keep me");

        CliRunner run = CliRunner.run("export", "--out", out.toString());

        assertThat(run.exitCode()).isEqualTo(TandemCli.USAGE);
        assertThat(run.err()).contains("tandem export: --out: " + out.toAbsolutePath() + " exists and is not empty");
        try (Stream<Path> entries = Files.list(out)) {
            assertThat(entries).containsExactly(out.resolve("notes.txt"));
        }
        assertThat(Files.readString(out.resolve("notes.txt"))).isEqualTo("keep me");
    }

    @Test
    void aSplitOutsideTheModelIsAUsageErrorAndWritesNothing() {
        Path out = dir.resolve("export");
        CliRunner run = CliRunner.run("export", "--out", out.toString(), "--split", "9");

        assertThat(run.exitCode()).isEqualTo(TandemCli.USAGE);
        assertThat(run.err()).contains("tandem export: --split").contains("9 is outside 1..4");
        assertThat(out).doesNotExist();
        assertThat(dir).isEmptyDirectory();
    }

    @Test
    void outIsRequired() {
        CliRunner run = CliRunner.run("export");
        assertThat(run.exitCode()).isEqualTo(TandemCli.USAGE);
        assertThat(run.err()).contains("--out");
    }

    @Test
    void anUnknownPrecisionNamesTheOption() {
        CliRunner run = CliRunner.run("export", "--out", dir.resolve("x").toString(), "--weights", "fp8");
        assertThat(run.exitCode()).isEqualTo(TandemCli.USAGE);
        assertThat(run.err()).contains("--weights").contains("fp8");
        assertThat(dir).isEmptyDirectory();
    }
}
