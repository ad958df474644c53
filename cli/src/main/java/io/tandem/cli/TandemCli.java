package io.tandem.cli;

import io.tandem.model.ModelFileException;
import io.tandem.model.manifest.ManifestMismatchException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code bin/tandem}: the command line. Each subcommand is its own class. */
@Command(name = "tandem", mixinStandardHelpOptions = true, version = "tandem 0.1.0",
        description = "Hybrid edge-cloud LLM inference.",
        subcommands = {GenerateCommand.class, ConvertCommand.class, ExportCommand.class, BenchCommand.class,
                LoadTestCommand.class})
public final class TandemCli implements Runnable {

    /** Exit status for a usage error (bad option or value). */
    public static final int USAGE = 2;
    /** Exit status for a failure while running (unreadable model, runtime error). */
    public static final int FAILURE = 1;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs a command line with the given streams; returns the exit status. */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new TandemCli());
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            String name = commandLine.getCommandName();
            commandLine.getErr().println("tandem " + name + ": " + describe(e));
            return isUsageError(e) ? USAGE : FAILURE;
        });
        return cli.execute(args);
    }

    private static boolean isUsageError(Exception e) {
        return e instanceof IllegalArgumentException && !(e instanceof ManifestMismatchException)
                || e instanceof CommandLine.ParameterException;
    }

    /** One line that names the file or argument and what is wrong, without a stack trace. */
    static String describe(Throwable e) {
        if (e instanceof UncheckedIOException u) {
            e = u.getCause();
        }
        if (e instanceof NoSuchFileException missing) {
            return missing.getFile() + ": no such file";
        }
        if (e instanceof IOException io) {
            return io.getMessage() == null ? io.toString() : io.getMessage();
        }
        if (e instanceof ModelFileException
                || e instanceof IllegalArgumentException || e instanceof IllegalStateException) {
            return e.getMessage();
        }
        return e.toString();
    }
}
