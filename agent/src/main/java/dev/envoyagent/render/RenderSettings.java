package dev.envoyagent.render;

import dev.envoyagent.config.AgentSettings;
import dev.envoyagent.config.AgentSettings.NodeSettings;
import dev.envoyagent.config.Delivery;
import java.nio.file.Path;
import java.util.Objects;

/**
 * What rendering needs besides the snapshot. {@code configDir} is where the files will live on the
 * host: the bootstrap refers to the watched files by absolute path.
 */
public record RenderSettings(NodeSettings node, int adminPort, Delivery delivery, Path configDir) {

  public RenderSettings {
    Objects.requireNonNull(node, "node");
    Objects.requireNonNull(delivery, "delivery");
    Objects.requireNonNull(configDir, "configDir");
    if (!configDir.isAbsolute()) {
      throw new IllegalArgumentException("configDir must be absolute: " + configDir);
    }
  }

  public static RenderSettings from(AgentSettings settings) {
    return new RenderSettings(
        settings.node(),
        settings.envoy().adminPort(),
        settings.envoy().delivery(),
        settings.envoy().configDir());
  }

  public RenderSettings withDelivery(Delivery other) {
    return new RenderSettings(node, adminPort, other, configDir);
  }

  public RenderSettings withConfigDir(Path other) {
    return new RenderSettings(node, adminPort, delivery, other);
  }
}
