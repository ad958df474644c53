package io.tandem.edge.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.tandem.edge.EdgeApplication;
import io.tandem.model.engine.EngineOptions;
import io.tandem.model.engine.LoadedModel;
import io.tandem.model.export.ModelExporter;
import io.tandem.model.manifest.ManifestMismatchException;
import io.tandem.model.onnx.GraphFlavour;
import io.tandem.model.onnx.WeightPrecision;
import io.tandem.model.runtime.RuntimeOptions;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;

/** A file of an exported folder changed after export stops the edge's start-up, named. */
@ExtendWith(OutputCaptureExtension.class)
class ExportTamperTest {

    static final EngineOptions SPLIT_INT8 = new EngineOptions(WeightPrecision.INT8, GraphFlavour.FAST, 3,
            RuntimeOptions.threads(1));

    @TempDir
    Path dir;

    Path export() throws IOException {
        return ModelExporter.export(LoadedModel.embedded(), SPLIT_INT8, dir.resolve("export"), false).directory();
    }

    static ConfigurableApplicationContext start(Path export) {
        return SpringApplication.run(EdgeApplication.class, "--spring.main.web-application-type=none",
                "--tandem.model.path=" + export, "--tandem.model.weights=int8",
                "--spring.config.additional-location=file:../config/", "--spring.config.name=application,edge");
    }

    @Test
    void aTamperedFileStopsTheStartUpNamingIt(CapturedOutput output) throws IOException {
        Path export = export();
        Path data = export.resolve("layers-0-3").resolve(ModelExporter.MODEL_FILE);
        try (FileChannel channel = FileChannel.open(data, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            long at = channel.size() / 2;
            channel.read(one, at);
            one.put(0, (byte) (one.get(0) ^ 0x01)).rewind();
            channel.write(one, at);
        }
        Throwable failure = catchThrowable(() -> start(export).close());
        assertThat(failure).hasRootCauseInstanceOf(ManifestMismatchException.class);
        assertThat(output).contains("APPLICATION FAILED TO START")
                .contains("The model's graphs cannot be served: " + data + ": sha256 ");
    }
}
