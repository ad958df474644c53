package io.tandem.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** bin/tandem as a user meets it: help for every command, and a demo that will not start on a taken port. */
class LauncherTest {

    static final Path LAUNCHER = Path.of("..", "bin", "tandem").toAbsolutePath().normalize();

    record Result(int exit, String output) {
    }

    static Result run(String... args) throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of(LAUNCHER.toString()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(process.exitValue(), output);
    }

    @Test
    void everyServiceCommandHasHelp() throws Exception {
        for (String command : List.of("demo", "edge", "cloud", "issuer", "test")) {
            Result help = run(command, "--help");
            assertThat(help.exit()).as("%s --help: %s", command, help.output()).isZero();
            assertThat(help.output()).startsWith("usage: bin/tandem " + command).doesNotContain("unexpected argument");
        }
    }

    @Test
    void theDemoRefusesATakenPortNamingItAndItsHolder() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            Result demo = run("demo", "--issuer-port=" + port, "--cloud-port=" + ServiceProcess.freePort(),
                    "--edge-port=" + ServiceProcess.freePort());
            assertThat(demo.exit()).isNotZero();
            assertThat(demo.output()).contains("port " + port + " for the issuer is already in use")
                    .doesNotContain("Tandem demo is running");
            // this test's own JVM holds it; ss or lsof name it when the machine has them
            if (demo.output().contains(" by ")) {
                assertThat(demo.output()).contains("(pid " + ProcessHandle.current().pid() + ")");
            }
        }
    }
}
