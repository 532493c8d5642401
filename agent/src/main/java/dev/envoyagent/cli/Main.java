package dev.envoyagent.cli;

/** Entry point of the envoy-agent command. */
public final class Main {

  private Main() {}

  public static void main(String[] args) {
    System.exit(EnvoyAgentCommand.commandLine().execute(args));
  }
}
