package dev.envoyagent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.envoyagent.model.InvalidInputException;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "status",
    description = {
      "Summarises what the local agent is doing, from its admin endpoint.",
      "Exit code 0 healthy, 1 degraded, 2 unreachable: usable as a monitoring check."
    },
    exitCodeList = {
      "0:healthy",
      "1:degraded, or --config is invalid",
      "2:unreachable, or a usage error"
    })
final class StatusCommand implements Callable<Integer> {

  static final int DEGRADED = 1;
  static final int UNREACHABLE = 2;
  private static final ObjectMapper JSON = new ObjectMapper();

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @CommandLine.Mixin AgentAdminAddress adminAddress;

  @Option(names = "--json", description = "Print the agent's /status JSON as it is.")
  boolean json;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    String address;
    try {
      address = adminAddress.resolve();
    } catch (InvalidInputException e) {
      ValidateCommand.report(spec.commandLine().getErr(), adminAddress.config, e);
      return ExitCodes.INVALID;
    }
    JsonNode status;
    try {
      HttpResponse<String> response =
          HttpClient.newBuilder()
              .connectTimeout(Duration.ofSeconds(2))
              .build()
              .send(
                  HttpRequest.newBuilder(URI.create("http://" + address + "/status"))
                      .timeout(Duration.ofSeconds(3))
                      .GET()
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new IOException("GET /status answered " + response.statusCode());
      }
      status = JSON.readTree(response.body());
    } catch (IOException | IllegalArgumentException e) {
      out.println(
          paint("UNREACHABLE", "31")
              + "  envoy-agent admin at "
              + address
              + ": "
              + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
      return UNREACHABLE;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return UNREACHABLE;
    }
    List<String> problems = problems(status);
    if (json) {
      out.println(status.toPrettyString());
    } else {
      print(out, status, problems);
    }
    return problems.isEmpty() ? ExitCodes.OK : DEGRADED;
  }

  /** Why the agent is not healthy; empty when it is. */
  static List<String> problems(JsonNode view) {
    List<String> problems = new ArrayList<>();
    JsonNode s = view.path("status");
    if (!view.path("healthy_loops").asBoolean(false)) {
      problems.add("the agent's loops are stalled");
    }
    if (!view.path("ready").asBoolean(false)) {
      problems.add("not ready: " + view.path("not_ready_reason").asText());
    }
    String newest = s.path("newestVersion").asText("");
    if (!newest.isEmpty() && newest.equals(s.path("lastRejected").asText())) {
      problems.add("newest routes " + newest + " were refused: " + s.path("lastError").asText());
    }
    if (!s.path("sourceError").asText("").isEmpty()) {
      problems.add("routes refused: " + s.path("sourceError").asText());
    }
    if (view.path("control_plane").isObject()
        && !s.path("controlPlaneConnected").asBoolean(false)) {
      problems.add("control plane unreachable (serving the last known good routes)");
    }
    if (view.path("draining").asBoolean(false)) {
      problems.add("host is draining");
    }
    return problems;
  }

  private void print(PrintWriter out, JsonNode view, List<String> problems) {
    JsonNode s = view.path("status");
    String verdict = problems.isEmpty() ? paint("HEALTHY", "32") : paint("DEGRADED", "33");
    row(
        out,
        "envoy-agent",
        view.path("agent_version").asText()
            + "  up "
            + duration(view.path("uptime_s").asLong())
            + "  "
            + verdict);
    StringBuilder epochs = new StringBuilder();
    for (JsonNode epoch : s.path("epochs")) {
      epochs
          .append(epochs.length() == 0 ? "" : ", ")
          .append("epoch ")
          .append(epoch.path("epoch").asInt())
          .append(" pid ")
          .append(epoch.path("pid").asLong());
    }
    row(
        out,
        "envoy",
        s.path("phase").asText() + "  " + (epochs.length() == 0 ? "no process" : epochs));
    row(
        out,
        "routes",
        "applied "
            + orDash(s.path("appliedVersion").asText())
            + "  newest "
            + orDash(s.path("newestVersion").asText())
            + "  applied "
            + s.path("appliedCount").asLong()
            + " times");
    if (!s.path("sourceError").asText("").isEmpty()) {
      problems.add("routes refused: " + s.path("sourceError").asText());
    }
    if (view.path("control_plane").isObject()) {
      row(
          out,
          "control plane",
          orDash(s.path("controlPlaneTarget").asText())
              + "  "
              + (s.path("controlPlaneConnected").asBoolean() ? "connected" : "disconnected"));
    }
    row(
        out,
        "restarts",
        "hot "
            + s.path("hotRestarts").asLong()
            + "  cold "
            + s.path("coldRestarts").asLong()
            + "  failed "
            + s.path("failedRestarts").asLong()
            + "  crashes "
            + s.path("envoyCrashes").asLong());
    for (JsonNode check : view.path("local_services")) {
      row(
          out,
          "local " + check.path("name").asText(),
          (check.path("healthy").asBoolean() ? "up" : "down  " + check.path("detail").asText()));
    }
    row(out, "last error", orDash(s.path("lastError").asText()));
    for (String problem : problems) {
      row(out, "problem", problem);
    }
  }

  private static void row(PrintWriter out, String label, String value) {
    out.printf("%-14s %s%n", label, value);
  }

  private static String orDash(String value) {
    return value.isEmpty() ? "-" : value;
  }

  private static String duration(long seconds) {
    return seconds < 120
        ? seconds + "s"
        : seconds < 7200 ? seconds / 60 + "m" : seconds / 3600 + "h";
  }

  /** Colour only for a person at a terminal. */
  private static String paint(String text, String colour) {
    return System.console() == null ? text : "\u001b[" + colour + "m" + text + "\u001b[0m";
  }
}
