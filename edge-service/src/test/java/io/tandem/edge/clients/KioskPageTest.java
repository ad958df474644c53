package io.tandem.edge.clients;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

/**
 * The kiosk page in Debian's headless Chromium at 800x480 with touch (src/test/node/kiosk-page.mjs):
 * a tapped prompt streams in, the page shows the route and its own time to first token. The
 * screenshot is left in target/kiosk-page/ for a look.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "spring.config.additional-location=file:../config/", "spring.config.name=application,edge",
        "tandem.audit.path=target/test-audit.jsonl"})
class KioskPageTest {

    static final Path SCREENSHOT = Path.of("target", "kiosk-page", "kiosk-800x480.png").toAbsolutePath();

    @LocalServerPort
    int port;

    @Test
    void aTouchUserSeesTheStoryStreamInWithRouteAndTimeToFirstToken() throws Exception {
        NodeClients.requireNode(true);
        Files.createDirectories(SCREENSHOT.getParent());
        Files.deleteIfExists(SCREENSHOT);
        NodeClients.Run run = NodeClients.run("kiosk-page.mjs", "http://localhost:" + port, SCREENSHOT.toString());
        assertThat(run.summary()).as("the JSON summary line of kiosk-page.mjs\n%s", run.tail()).isNotNull();
        assertThat(run.exitCode()).as("kiosk-page.mjs failed: %s\n%s", run.summary().get("failures"), run.tail()).isZero();
        JsonNode summary = run.summary();
        assertThat(summary.get("ok").asBoolean()).isTrue();
        assertThat(summary.get("state").asString()).isEqualTo("done");
        assertThat(summary.get("answer").asString()).isNotBlank();
        assertThat(summary.get("distinctLengths").asInt()).as("text lengths seen while streaming").isGreaterThanOrEqualTo(2);
        assertThat(summary.get("route").asString()).isEqualTo("local");
        assertThat(summary.get("ttftText").asString()).matches("first word after \\d+ ms \\(kiosk \\d+(\\.\\d+)? ms\\)");
        // issue 14: twelve turns without an error, the history trimmed to fit and the kiosk saying so
        assertThat(summary.get("turns").asInt()).isEqualTo(12);
        assertThat(summary.get("trimNotices").asInt()).isGreaterThanOrEqualTo(1);
        assertThat(summary.get("trimNotice").asString()).contains("left out its oldest");
        assertThat(SCREENSHOT).exists();
        assertThat(pngSize(SCREENSHOT)).containsExactly(800, 480);
    }

    /** Width and height from a PNG's IHDR chunk. */
    static int[] pngSize(Path png) throws IOException {
        try (InputStream in = Files.newInputStream(png); DataInputStream data = new DataInputStream(in)) {
            byte[] signature = data.readNBytes(8);
            assertThat(signature).startsWith((byte) 0x89, (byte) 'P', (byte) 'N', (byte) 'G');
            data.readInt(); // IHDR length
            assertThat(data.readInt()).isEqualTo(0x49484452); // "IHDR"
            return new int[] {data.readInt(), data.readInt()};
        }
    }
}
