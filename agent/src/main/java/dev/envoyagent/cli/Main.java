package dev.envoyagent.cli;

import dev.envoyagent.agent.AgentDaemon;

/** Entry point of the envoy-agent command. */
public final class Main {

  private Main() {}

  public static void main(String[] args) {
    if (args.length > 0 && args[0].equals("run")) {
      AgentDaemon.warmUpInBackground();
    }
    System.exit(EnvoyAgentCommand.commandLine().execute(args));
  }
}
