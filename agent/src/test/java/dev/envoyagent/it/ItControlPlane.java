package dev.envoyagent.it;

import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.envoyagent.controlplane.ControlPlaneServer;
import dev.envoyagent.controlplane.HostPort;
import dev.envoyagent.testkit.AdminClient;
import dev.envoyagent.testkit.Ports;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The reference control plane for the ITs, either as a process ({@code envoy-agent control-plane},
 * found and killed by its routes file's path) or in this JVM ({@link ControlPlaneServer},
 * plaintext). Both keep their gRPC and HTTP ports across a restart, so agents reconnect to the same
 * address.
 */
final class ItControlPlane implements AutoCloseable {

  final Path dir;
  final Path routesFile;
  final Path logFile;
  final int grpcPort = Ports.free();
  final int httpPort = Ports.free();
  private final boolean asProcess;
  private final long heartbeatIntervalMs;
  private final List<String> tlsArgs;
  private Process process;
  private ControlPlaneServer server;

  private ItControlPlane(
      Path dir, boolean asProcess, long heartbeatIntervalMs, List<String> tlsArgs)
      throws IOException {
    this.dir = dir.toAbsolutePath();
    Files.createDirectories(this.dir);
    this.routesFile = this.dir.resolve("cp-routes.yaml");
    this.logFile = this.dir.resolve("control-plane.log");
    this.asProcess = asProcess;
    this.heartbeatIntervalMs = heartbeatIntervalMs;
    this.tlsArgs = tlsArgs;
  }

  /** As a process; {@code tlsArgs} empty means {@code --plaintext}. */
  static ItControlPlane process(Path dir, long heartbeatIntervalMs, String... tlsArgs)
      throws IOException {
    return new ItControlPlane(
        dir.resolve("control-plane"), true, heartbeatIntervalMs, List.of(tlsArgs));
  }

  /** In this JVM, plaintext. */
  static ItControlPlane inProcess(Path dir, long heartbeatIntervalMs) throws IOException {
    return new ItControlPlane(dir.resolve("control-plane"), false, heartbeatIntervalMs, List.of());
  }

  String address() {
    return "127.0.0.1:" + grpcPort;
  }

  void routes(String yaml) throws IOException {
    ItAgent.atomicWrite(routesFile, yaml);
  }

  /** Starts it and waits until GET /fleet answers. */
  void start() throws Exception {
    if (asProcess) {
      List<String> args =
          new ArrayList<>(
              List.of(
                  "control-plane",
                  "--routes",
                  routesFile.toString(),
                  "--listen",
                  "127.0.0.1:" + grpcPort,
                  "--http",
                  "127.0.0.1:" + httpPort,
                  "--heartbeat-interval-ms",
                  Long.toString(heartbeatIntervalMs)));
      if (tlsArgs.isEmpty()) {
        args.add("--plaintext");
      } else {
        args.addAll(tlsArgs);
      }
      Files.writeString(
          logFile,
          "------ control plane start\n",
          java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.APPEND);
      process = ItProcesses.startAgentCommand(logFile, args.toArray(String[]::new));
      await()
          .atMost(AgentHarness.scaled(30))
          .pollInterval(FleetItSupport.POLL)
          .failFast("control plane exited", () -> !process.isAlive())
          .until(() -> fleetOrNull() != null);
    } else {
      server =
          ControlPlaneServer.start(
              new ControlPlaneServer.Options(
                  routesFile,
                  HostPort.parse("127.0.0.1:" + grpcPort),
                  HostPort.parse("127.0.0.1:" + httpPort),
                  Optional.empty(),
                  heartbeatIntervalMs));
    }
  }

  /** SIGKILL (process) or an immediate close (in-process): agents see their streams break. */
  void kill() throws Exception {
    if (asProcess) {
      ItProcesses.kill("KILL", process.pid());
      process.waitFor(10, TimeUnit.SECONDS);
    } else if (server != null) {
      server.close();
      server = null;
    }
  }

  /** SIGTERM (process, waits for the exit code) or close (in-process). */
  int stop() throws Exception {
    if (asProcess) {
      ItProcesses.kill("TERM", process.pid());
      if (!process.waitFor(AgentHarness.scaled(20).toSeconds(), TimeUnit.SECONDS)) {
        throw new AssertionError("control plane did not stop on SIGTERM");
      }
      return process.exitValue();
    }
    kill();
    return 0;
  }

  JsonNode fleet() throws IOException {
    return new AdminClient(httpPort).json("/fleet");
  }

  private JsonNode fleetOrNull() {
    try {
      return fleet();
    } catch (IOException e) {
      return null;
    }
  }

  /** The /fleet entry of one host, or a missing node when it is not (yet) known. */
  JsonNode host(String id) {
    JsonNode fleet = fleetOrNull();
    if (fleet != null) {
      for (JsonNode host : fleet.path("hosts")) {
        if (id.equals(host.path("id").asText())) {
          return host;
        }
      }
    }
    return com.fasterxml.jackson.databind.node.MissingNode.getInstance();
  }

  String servingVersion() {
    JsonNode fleet = fleetOrNull();
    return fleet == null ? "" : fleet.path("serving_version").asText();
  }

  String log() {
    try {
      return Files.readString(logFile);
    } catch (IOException e) {
      return "";
    }
  }

  @Override
  public void close() throws IOException {
    if (server != null) {
      server.close();
      server = null;
    }
    if (process != null) {
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    ItProcesses.killAll(dir);
  }
}
