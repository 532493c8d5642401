package dev.envoyagent.cli;

import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.config.AgentConfigLoader;
import dev.envoyagent.config.AgentSettings;
import dev.envoyagent.model.InvalidInputException;
import dev.envoyagent.model.Problem;
import dev.envoyagent.model.RouteSnapshots;
import dev.envoyagent.render.EnvoyConfigRenderer;
import dev.envoyagent.render.RenderSettings;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "validate", description = {
    "Checks a routes file and/or the agent's config; prints OK or every problem as 'path: reason'.",
    "With both, also checks the routes against this host's settings (e.g. ports)."})
final class ValidateCommand implements Callable<Integer> {

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Option(names = "--routes", paramLabel = "FILE", description = "Routes file (YAML or JSON).")
  Path routes;

  @Option(names = "--config", paramLabel = "FILE", description = "The agent's config (agent.yaml).")
  Path config;

  @Override
  public Integer call() {
    if (routes == null && config == null) {
      throw new CommandLine.ParameterException(spec.commandLine(), "give --routes FILE, --config FILE or both");
    }
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    boolean ok = true;
    AgentSettings settings = null;
    if (config != null) {
      try {
        settings = AgentConfigLoader.load(config);
        out.println("OK: " + config + ": node " + settings.node().id() + ", routes "
            + settings.routesFile().map(Object::toString).orElse("from the control plane")
            + settings.controlPlane().map(cp -> " + control plane " + cp.addresses()).orElse("")
            + ", delivery " + settings.envoy().delivery().configName());
      } catch (InvalidInputException e) {
        report(err, config, e);
        ok = false;
      }
    }
    if (routes != null) {
      try {
        RouteSnapshot snapshot = RouteSnapshots.load(routes);
        if (settings != null) {
          EnvoyConfigRenderer.render(snapshot, RenderSettings.from(settings));
        }
        out.println("OK: " + snapshot.getServicesCount() + " services (version " + snapshot.getVersion() + ")");
      } catch (InvalidInputException e) {
        report(err, routes, e);
        ok = false;
      }
    }
    return ok ? ExitCodes.OK : ExitCodes.INVALID;
  }

  static void report(PrintWriter err, Path file, InvalidInputException e) {
    err.println(file + ": " + e.problems().size() + (e.problems().size() == 1 ? " problem" : " problems"));
    for (Problem problem : e.problems()) {
      err.println("  " + problem);
    }
  }
}
