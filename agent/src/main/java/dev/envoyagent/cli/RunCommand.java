package dev.envoyagent.cli;

import dev.envoyagent.agent.AgentDaemon;
import dev.envoyagent.ec2.Ec2UnavailableException;
import dev.envoyagent.model.InvalidInputException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "run",
    description = {
      "Keeps Envoy serving the routes: renders, validates, applies, hot-restarts when it must.",
      "SIGHUP reloads; SIGUSR1 goes to Envoy; SIGTERM drains and stops; SIGUSR2 exits and leaves Envoy running."
    })
final class RunCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--config",
      required = true,
      paramLabel = "FILE",
      description = "The agent's config (agent.yaml).")
  Path config;

  @Override
  public Integer call() throws IOException, InterruptedException {
    try {
      return new AgentDaemon(config).run();
    } catch (InvalidInputException e) {
      ValidateCommand.report(spec.commandLine().getErr(), config, e);
      return ExitCodes.INVALID;
    } catch (Ec2UnavailableException e) {
      spec.commandLine().getErr().println("envoy-agent: " + e.getMessage());
      return ExitCodes.INVALID;
    }
  }
}
