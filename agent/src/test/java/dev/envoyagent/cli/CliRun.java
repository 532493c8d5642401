package dev.envoyagent.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/**
 * Runs the envoy-agent command line in this JVM, configured as main configures it, and keeps what
 * it printed.
 */
public final class CliRun {

  public record Result(int exitCode, String out, String err) {}

  private CliRun() {}

  public static Result run(String... args) {
    CommandLine cli = EnvoyAgentCommand.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    int code = cli.execute(args);
    return new Result(code, out.toString(), err.toString());
  }
}
