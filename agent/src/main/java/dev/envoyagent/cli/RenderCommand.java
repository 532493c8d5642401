package dev.envoyagent.cli;

import dev.envoyagent.apply.ConfigWriter;
import dev.envoyagent.apply.WriteOutcome;
import dev.envoyagent.config.AgentConfigLoader;
import dev.envoyagent.config.AgentSettings;
import dev.envoyagent.config.Delivery;
import dev.envoyagent.model.InvalidInputException;
import dev.envoyagent.model.RouteSnapshots;
import dev.envoyagent.render.EnvoyConfigRenderer;
import dev.envoyagent.render.RenderSettings;
import dev.envoyagent.render.RenderedConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "render",
    description = {
      "Writes the Envoy configuration for a routes file into a directory.",
      "Writes DIR/bootstrap.json and every file it refers to (by absolute path inside DIR), then prints them."
    })
final class RenderCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--routes",
      required = true,
      paramLabel = "FILE",
      description = "Routes file (YAML or JSON).")
  Path routes;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "DIR",
      description = "Directory to write into.")
  Path out;

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description = "The agent's config, for node identity, admin port and delivery.")
  Path config;

  @Option(
      names = "--delivery",
      paramLabel = "MODE",
      description =
          "files (default: watched files, no restart on route changes) or restart (all static).")
  Delivery delivery;

  @Option(
      names = "--node-id",
      paramLabel = "ID",
      defaultValue = "envoy-agent",
      description = "Node id when no --config is given (default: ${DEFAULT-VALUE}).")
  String nodeId;

  @Option(
      names = "--node-cluster",
      paramLabel = "NAME",
      defaultValue = "default",
      description = "Node cluster when no --config is given (default: ${DEFAULT-VALUE}).")
  String nodeCluster;

  @Override
  public Integer call() {
    PrintWriter stdout = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    Path dir = out.toAbsolutePath().normalize();
    RenderSettings settings;
    if (config != null) {
      try {
        settings = RenderSettings.from(AgentConfigLoader.load(config)).withConfigDir(dir);
      } catch (InvalidInputException e) {
        ValidateCommand.report(err, config, e);
        return ExitCodes.INVALID;
      }
    } else {
      settings =
          new RenderSettings(
              new AgentSettings.NodeSettings(nodeId, nodeCluster, ""),
              AgentConfigLoader.DEFAULT_ADMIN_PORT,
              Delivery.FILES,
              dir);
    }
    if (delivery != null) {
      settings = settings.withDelivery(delivery);
    }
    RenderedConfig rendered;
    try {
      rendered = EnvoyConfigRenderer.render(RouteSnapshots.load(routes), settings);
    } catch (InvalidInputException e) {
      ValidateCommand.report(err, routes, e);
      return ExitCodes.INVALID;
    }
    try {
      WriteOutcome outcome = new ConfigWriter(dir).write(rendered.toFiles());
      stdout.println(
          "rendered version "
              + rendered.version()
              + " ("
              + settings.delivery().configName()
              + " delivery) into "
              + dir);
      stdout.println("  " + dir.resolve(RenderedConfig.BOOTSTRAP_FILE) + " (bootstrap)");
      for (String file : rendered.watchedFiles().keySet()) {
        stdout.println("  " + dir.resolve(file));
      }
      stdout.println(
          outcome.written().size()
              + " written, "
              + (rendered.watchedFiles().size() + 1 - outcome.written().size())
              + " unchanged, "
              + outcome.removed().size()
              + " removed");
      return ExitCodes.OK;
    } catch (IOException e) {
      err.println("cannot write into " + dir + ": " + e);
      return ExitCodes.INVALID;
    }
  }
}
