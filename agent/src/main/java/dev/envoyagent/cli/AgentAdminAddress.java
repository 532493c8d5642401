package dev.envoyagent.cli;

import dev.envoyagent.config.AgentConfigLoader;
import dev.envoyagent.model.InvalidInputException;
import java.nio.file.Path;

/** Where the local agent's admin listener is: --admin, else admin.listen of --config, else the default. */
final class AgentAdminAddress {

  private AgentAdminAddress() {}

  static String resolve(String admin, Path config) throws InvalidInputException {
    if (admin != null) {
      return admin;
    }
    if (config != null) {
      return AgentConfigLoader.load(config).adminListen().toString();
    }
    return AgentConfigLoader.DEFAULT_ADMIN_LISTEN;
  }
}
