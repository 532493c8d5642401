package dev.envoyagent.cli;

import dev.envoyagent.agent.AgentVersion;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(name = "version", description = "Prints the agent's version.")
final class VersionCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine()
        .getOut()
        .println("envoy-agent " + AgentVersion.version() + " (java " + Runtime.version() + ")");
    return ExitCodes.OK;
  }
}
