package io.tandem.edge.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.tandem.edge.EdgeApplication;
import io.tandem.model.ModelFileException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/** A model file that cannot be used stops the edge at start-up with a report naming the file and the fault. */
@ExtendWith(OutputCaptureExtension.class)
class ModelFileFailureAnalyzerTest {

    @TempDir
    Path dir;

    @Test
    void truncatedGgufFailsStartupWithAClearReport(CapturedOutput output) throws IOException {
        Path file = dir.resolve("broken.gguf");
        // the GGUF magic and version 3, then nothing
        Files.write(file, new byte[] {'G', 'G', 'U', 'F', 3, 0, 0, 0});
        Throwable failure = catchThrowable(() -> SpringApplication.run(EdgeApplication.class,
                "--spring.main.web-application-type=none", "--tandem.model.path=" + file,
                "--spring.config.additional-location=file:../config/", "--spring.config.name=application,edge"));
        assertThat(failure).isNotNull();
        assertThat(failure).hasRootCauseInstanceOf(ModelFileException.class);
        assertThat(output).contains("APPLICATION FAILED TO START")
                .contains("The local model cannot be loaded: " + file + ": ")
                .contains("tandem.model.path");
    }
}
