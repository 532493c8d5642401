package dev.envoyagent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.envoyagent.controlplane.HostPort;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
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
    name = "fleet",
    description = {
      "Shows the hosts a reference control plane knows: state, applied version, last heartbeat and errors.",
      "Reads GET /fleet from the control plane's HTTP port."
    })
final class FleetCommand implements Callable<Integer> {

  private static final List<String> HEADER =
      List.of("HOST", "ZONE", "STATE", "APPLIED", "HEARTBEAT", "STREAM", "ERROR");

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--control-plane",
      required = true,
      paramLabel = "HOST:PORT",
      converter = ControlPlaneCommand.AddressConverter.class,
      description = "The control plane's HTTP address (its --http), e.g. 127.0.0.1:18001.")
  InetSocketAddress controlPlane;

  @Option(names = "--json", description = "Print the control plane's JSON as it is.")
  boolean json;

  @Option(
      names = "--timeout-ms",
      paramLabel = "MS",
      defaultValue = "5000",
      description = "Default: ${DEFAULT-VALUE}.")
  long timeoutMs;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    URI uri = URI.create("http://" + HostPort.format(controlPlane) + "/fleet");
    String body;
    try {
      HttpClient client =
          HttpClient.newBuilder().connectTimeout(Duration.ofMillis(timeoutMs)).build();
      HttpResponse<String> response =
          client.send(
              HttpRequest.newBuilder(uri).timeout(Duration.ofMillis(timeoutMs)).GET().build(),
              HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        err.println("fleet: " + uri + " answered " + response.statusCode());
        return ExitCodes.INVALID;
      }
      body = response.body();
    } catch (IOException e) {
      err.println("fleet: cannot read " + uri + ": " + e);
      return ExitCodes.INVALID;
    }
    if (json) {
      out.print(body);
      out.flush();
      return ExitCodes.OK;
    }
    try {
      out.print(table(new ObjectMapper().readTree(body)));
      out.flush();
      return ExitCodes.OK;
    } catch (IOException e) {
      err.println("fleet: " + uri + " did not answer with fleet JSON: " + e.getMessage());
      return ExitCodes.INVALID;
    }
  }

  static String table(JsonNode fleet) {
    List<List<String>> rows = new ArrayList<>();
    rows.add(HEADER);
    for (JsonNode host : fleet.path("hosts")) {
      rows.add(
          List.of(
              host.path("id").asText(),
              dash(host.path("zone").asText()),
              host.path("state").asText(),
              dash(host.path("applied_version").asText()),
              age(host.path("last_heartbeat_age_ms").asLong(-1)),
              host.path("stream_connected").asBoolean() ? "up" : "down",
              error(host)));
    }
    int[] widths = new int[HEADER.size()];
    for (List<String> row : rows) {
      for (int i = 0; i < row.size(); i++) {
        widths[i] = Math.max(widths[i], row.get(i).length());
      }
    }
    StringBuilder text = new StringBuilder();
    text.append("serving ")
        .append(fleet.path("serving_version").asText())
        .append(" (routes ")
        .append(fleet.path("routes_version").asText())
        .append("), ")
        .append(rows.size() - 1)
        .append(rows.size() == 2 ? " host" : " hosts")
        .append('\n');
    for (List<String> row : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < row.size(); i++) {
        line.append(
            i == row.size() - 1 ? row.get(i) : String.format("%-" + widths[i] + "s  ", row.get(i)));
      }
      text.append(line.toString().stripTrailing()).append('\n');
    }
    return text.toString();
  }

  /**
   * A refused snapshot first (the agent is not running what it was sent), then the agent's own
   * error.
   */
  private static String error(JsonNode host) {
    JsonNode errors = host.path("nack_errors");
    if (host.path("refusing").asBoolean() && errors.size() > 0) {
      return "refused "
          + host.path("nacked_version").asText()
          + ": "
          + errors.get(0).asText()
          + (errors.size() > 1 ? " (+" + (errors.size() - 1) + " more)" : "");
    }
    String last = host.path("last_error").asText();
    if (!last.isEmpty()) {
      return last;
    }
    return host.path("drain_requested").asBoolean() ? "drain requested" : "-";
  }

  private static String dash(String value) {
    return value.isEmpty() ? "-" : value;
  }

  static String age(long ms) {
    if (ms < 0) {
      return "never";
    }
    long s = ms / 1000;
    if (s < 60) {
      return s + "s ago";
    }
    if (s < 3600) {
      return s / 60 + "m" + s % 60 + "s ago";
    }
    return s / 3600 + "h" + s % 3600 / 60 + "m ago";
  }
}
