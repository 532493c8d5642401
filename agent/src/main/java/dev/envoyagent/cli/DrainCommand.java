package dev.envoyagent.cli;

import dev.envoyagent.model.InvalidInputException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

@Command(
    name = "drain",
    description = {
      "Drains this host, as before a termination: it reports DRAINING to the control plane (which",
      "deregisters its services), fails Envoy's health checks and drains Envoy's listeners gracefully."
    })
final class DrainCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @CommandLine.Mixin AgentAdminAddress adminAddress;

  @Override
  public Integer call() throws InterruptedException {
    String address;
    try {
      address = adminAddress.resolve();
    } catch (InvalidInputException e) {
      ValidateCommand.report(spec.commandLine().getErr(), adminAddress.config, e);
      return ExitCodes.INVALID;
    }
    try {
      HttpResponse<String> response =
          HttpClient.newBuilder()
              .connectTimeout(Duration.ofSeconds(2))
              .build()
              .send(
                  HttpRequest.newBuilder(URI.create("http://" + address + "/drain"))
                      .timeout(Duration.ofSeconds(5))
                      .POST(HttpRequest.BodyPublishers.noBody())
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        spec.commandLine()
            .getErr()
            .println(
                "envoy-agent at "
                    + address
                    + " refused: "
                    + response.statusCode()
                    + " "
                    + response.body().strip());
        return ExitCodes.INVALID;
      }
      spec.commandLine()
          .getOut()
          .println("draining: the control plane is told, Envoy drains its listeners");
      return ExitCodes.OK;
    } catch (IOException | IllegalArgumentException e) {
      spec.commandLine()
          .getErr()
          .println(
              "envoy-agent admin at "
                  + address
                  + " unreachable: "
                  + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
      return StatusCommand.UNREACHABLE;
    }
  }
}
