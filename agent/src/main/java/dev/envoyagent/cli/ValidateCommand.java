package dev.envoyagent.cli;

import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.config.AgentConfigLoader;
import dev.envoyagent.config.AgentSettings;
import dev.envoyagent.envoy.HostProcessControl;
import dev.envoyagent.envoy.InotifyBudget;
import dev.envoyagent.envoy.ProcessTable;
import dev.envoyagent.model.InvalidInputException;
import dev.envoyagent.model.Problem;
import dev.envoyagent.model.RouteSnapshots;
import dev.envoyagent.render.EnvoyConfigRenderer;
import dev.envoyagent.render.RenderSettings;
import dev.envoyagent.render.RenderedConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "validate",
    description = {
      "Checks a routes file and/or the agent's config; prints OK or every problem as 'path: reason'.",
      "With both, also checks the routes against this host's settings (e.g. ports)."
    })
final class ValidateCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--routes", paramLabel = "FILE", description = "Routes file (YAML or JSON).")
  Path routes;

  @Option(names = "--config", paramLabel = "FILE", description = "The agent's config (agent.yaml).")
  Path config;

  @Override
  public Integer call() {
    if (routes == null && config == null) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "give --routes FILE, --config FILE or both");
    }
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    boolean ok = true;
    AgentSettings settings = null;
    if (config != null) {
      try {
        settings = AgentConfigLoader.load(config);
        out.println(
            "OK: "
                + config
                + ": node "
                + settings.node().id()
                + ", routes "
                + settings.routesFile().map(Object::toString).orElse("from the control plane")
                + settings.controlPlane().map(cp -> " + control plane " + cp.addresses()).orElse("")
                + ", delivery "
                + settings.envoy().delivery().configName());
      } catch (InvalidInputException e) {
        report(err, config, e);
        ok = false;
      }
    }
    if (routes != null) {
      try {
        RouteSnapshot snapshot = RouteSnapshots.load(routes);
        if (settings != null) {
          RenderedConfig rendered =
              EnvoyConfigRenderer.render(snapshot, RenderSettings.from(settings));
          ok &= reportInotify(settings, rendered.watchedFiles().size(), out, err);
        }
        out.println(
            "OK: "
                + snapshot.getServicesCount()
                + " services (version "
                + snapshot.getVersion()
                + ")");
      } catch (InvalidInputException e) {
        report(err, routes, e);
        ok = false;
      }
    }
    return ok ? ExitCodes.OK : ExitCodes.INVALID;
  }

  /**
   * The inotify instances these watched files need (see {@link InotifyBudget}) against this host's
   * limit, as {@code run} will check it; false when they do not fit.
   */
  private static boolean reportInotify(
      AgentSettings settings, int watchedFiles, PrintWriter out, PrintWriter err) {
    if (watchedFiles == 0) {
      out.println(
          "inotify: no watched files (delivery "
              + settings.envoy().delivery().configName()
              + "): Envoy needs no inotify instances for its config");
      return true;
    }
    InotifyBudget budget = new InotifyBudget(watchedFiles);
    var running = new ProcessTable(settings.stateDir().resolve("envoy-processes.json")).load();
    var limit = new HostProcessControl(settings.stateDir().resolve("run")).inotifyLimit(running);
    String need =
        "inotify: "
            + watchedFiles
            + " watched files (LDS, CDS, one per RDS and EDS file) need "
            + budget.instancesNeeded()
            + " inotify instances during a hot restart";
    if (limit.isEmpty()) {
      out.println(need + "; this host's " + InotifyBudget.SYSCTL + " could not be read");
      return true;
    }
    var shortfall = budget.shortfall(limit.get());
    if (shortfall.isPresent()) {
      err.println("envoy.delivery: " + shortfall.get());
      return false;
    }
    out.println(
        need
            + "; "
            + InotifyBudget.SYSCTL
            + "="
            + limit.get().maxUserInstances()
            + ", other processes of "
            + limit.get().user()
            + " hold "
            + limit.get().heldByOthers());
    return true;
  }

  static void report(PrintWriter err, Path file, InvalidInputException e) {
    err.println(
        file + ": " + e.problems().size() + (e.problems().size() == 1 ? " problem" : " problems"));
    for (Problem problem : e.problems()) {
      err.println("  " + problem);
    }
  }
}
