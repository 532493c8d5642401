package dev.envoyagent.cli;

import dev.envoyagent.config.AgentConfigLoader;
import dev.envoyagent.model.InvalidInputException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The options of the commands that talk to the local agent: where its admin listener is. */
final class AgentAdminAddress {

  @Option(
      names = "--admin",
      paramLabel = "HOST:PORT",
      description =
          "The agent's admin listener (default: admin.listen of --config, else 127.0.0.1:9902).")
  String admin;

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description = "Read admin.listen from this agent.yaml.")
  Path config;

  /** --admin, else admin.listen of --config, else the default. */
  String resolve() throws InvalidInputException {
    if (admin != null) {
      return admin;
    }
    if (config != null) {
      return AgentConfigLoader.load(config).adminListen().toString();
    }
    return AgentConfigLoader.DEFAULT_ADMIN_LISTEN;
  }
}
