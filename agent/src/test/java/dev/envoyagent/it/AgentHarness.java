package dev.envoyagent.it;

import com.fasterxml.jackson.databind.JsonNode;
import dev.envoyagent.testkit.AdminClient;
import dev.envoyagent.testkit.Ports;
import dev.envoyagent.testkit.SimulatorProcess;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * One agent under test, as a real process: its own directory (agent.yaml, routes file, state_dir,
 * the simulator's shared-memory dir), Envoy = the testkit simulator behind a small wrapper script
 * that sources a fault file before exec'ing it (so faults can change between epochs), and cleanup
 * that kills the agent and every Envoy it left detached (found by the test directory in their
 * command line: Envoy is not a child of this JVM).
 */
final class AgentHarness implements AutoCloseable {

  /**
   * Spawns agents from one long-lived thread, so no parent-death signal fires when a thread ends.
   */
  private static final ExecutorService LAUNCHER =
      Executors.newSingleThreadExecutor(
          r -> {
            Thread t = new Thread(r, "agent-launcher");
            t.setDaemon(true);
            return t;
          });

  /** What differs between tests; everything else is fixed. */
  record Options(
      String delivery,
      int drainS,
      int parentShutdownS,
      int minIntervalMs,
      int debounceMs,
      int readyTimeoutS,
      int stopTimeoutS) {
    static Options files() {
      return new Options("files", 1, 3, 500, 100, 20, 5);
    }

    static Options restart() {
      return new Options("restart", 1, 3, 500, 100, 20, 5);
    }

    Options withRestartLimits(int minInterval, int debounce) {
      return new Options(
          delivery, drainS, parentShutdownS, minInterval, debounce, readyTimeoutS, stopTimeoutS);
    }

    Options withReadyTimeoutS(int seconds) {
      return new Options(
          delivery, drainS, parentShutdownS, minIntervalMs, debounceMs, seconds, stopTimeoutS);
    }
  }

  final Path dir;
  final Path stateDir;
  final Path routesFile;
  final Path agentYaml;
  final Path envoyBinary;
  final Path faultFile;
  final Path agentLog;
  final int envoyAdminPort = Ports.free();
  final int httpPort = Ports.free();
  final int tcpPort = Ports.free();
  final int baseId = ThreadLocalRandom.current().nextInt(1000, 1_000_000);
  private final Options options;
  private final List<Process> agents = new ArrayList<>();

  /** Extra environment for the agent process (e.g. the IMDS endpoint of an emulator). */
  final Map<String, String> agentEnv = new java.util.HashMap<>();

  private String zone = "us-east-1a";

  private AgentHarness(Path dir, Options options) {
    this.dir = dir;
    this.options = options;
    this.stateDir = dir.resolve("state");
    this.routesFile = dir.resolve("routes.yaml");
    this.agentYaml = dir.resolve("agent.yaml");
    this.envoyBinary = dir.resolve("envoy");
    this.faultFile = dir.resolve("faults.env");
    this.agentLog = dir.resolve("agent.log");
  }

  static AgentHarness create(String name, Options options) throws IOException {
    Path dir = Path.of("target", "it", name + "-" + System.currentTimeMillis()).toAbsolutePath();
    Files.createDirectories(dir.resolve("shm"));
    AgentHarness harness = new AgentHarness(dir, options);
    harness.writeEnvoyBinary(Map.of());
    harness.faults(Map.of());
    harness.writeAgentYaml();
    return harness;
  }

  static Duration scaled(int seconds) {
    double factor = Double.parseDouble(System.getProperty("it.timeout.factor", "1"));
    return Duration.ofMillis((long) (seconds * 1000 * factor));
  }

  // ---- files the agent reads ----

  void zone(String next) throws IOException {
    zone = next;
    writeAgentYaml();
  }

  void writeAgentYaml() throws IOException {
    String yaml =
        String.join(
            "\n",
            "node: {id: it-host, cluster: it, zone: " + zone + "}",
            "routes: {file: routes.yaml}",
            "envoy:",
            "  binary: " + envoyBinary,
            "  admin_port: " + envoyAdminPort,
            "  base_id: " + baseId,
            "  drain_time_s: " + options.drainS(),
            "  parent_shutdown_time_s: " + options.parentShutdownS(),
            "  delivery: " + options.delivery(),
            "  ready_timeout_s: " + options.readyTimeoutS(),
            "  stop_timeout_s: " + options.stopTimeoutS(),
            "state_dir: state",
            "admin: {listen: 127.0.0.1:" + Ports.free() + "}",
            "restart: {min_interval_ms: "
                + options.minIntervalMs()
                + ", debounce_ms: "
                + options.debounceMs()
                + "}",
            "");
    atomicWrite(agentYaml, yaml);
  }

  /**
   * Routes: an HTTP service {@code web} over the given weighted endpoints, a TCP service {@code
   * echo}.
   */
  void routes(String version, List<Endpoint> web, int echoBackendPort) throws IOException {
    StringBuilder yaml = new StringBuilder("version: \"" + version + "\"\nservices:\n");
    yaml.append("  - name: web\n    protocol: HTTP\n    local_port: ")
        .append(httpPort)
        .append("\n    endpoints:\n");
    for (Endpoint e : web) {
      yaml.append("      - {address: 127.0.0.1, port: ")
          .append(e.port())
          .append(", weight: ")
          .append(e.weight())
          .append("}\n");
    }
    yaml.append("  - name: echo\n    protocol: TCP\n    local_port: ")
        .append(tcpPort)
        .append("\n    endpoints:\n")
        .append("      - {address: 127.0.0.1, port: ")
        .append(echoBackendPort)
        .append("}\n");
    atomicWrite(routesFile, yaml.toString());
  }

  record Endpoint(int port, int weight) {}

  /** A routes file as given, e.g. one the agent must refuse. */
  void rawRoutes(String yaml) throws IOException {
    atomicWrite(routesFile, yaml);
  }

  /** Environment for Envoy processes started from now on (read by the wrapper at every exec). */
  void faults(Map<String, String> env) throws IOException {
    StringBuilder sh = new StringBuilder();
    env.forEach((k, v) -> sh.append("export ").append(k).append("='").append(v).append("'\n"));
    atomicWrite(faultFile, sh.toString());
  }

  /**
   * The "Envoy binary": a script that sources the fault file and execs the simulator (exec keeps
   * the pid). Rewriting it with other baked-in variables models installing a new Envoy.
   */
  void writeEnvoyBinary(Map<String, String> bakedIn) throws IOException {
    StringBuilder sh = new StringBuilder("#!/bin/sh\n");
    sh.append("export ENVOY_SIM_SHM_DIR='").append(dir.resolve("shm")).append("'\n");
    bakedIn.forEach((k, v) -> sh.append("export ").append(k).append("='").append(v).append("'\n"));
    sh.append("[ -f '").append(faultFile).append("' ] && . '").append(faultFile).append("'\n");
    sh.append("exec '").append(SimulatorProcess.launcher().toAbsolutePath()).append("' \"$@\"\n");
    atomicWrite(envoyBinary, sh.toString());
    Files.setPosixFilePermissions(envoyBinary, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private static void atomicWrite(Path file, String content) throws IOException {
    Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
    Files.writeString(tmp, content, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  // ---- the agent process ----

  /** Starts {@code envoy-agent run --config agent.yaml}; its stdout/stderr append to agent.log. */
  Process startAgent() throws Exception {
    Path launcher = Path.of(System.getProperty("envoy.agent", "target/envoy-agent"));
    Future<Process> started =
        LAUNCHER.submit(
            () -> {
              ProcessBuilder pb =
                  new ProcessBuilder(
                          launcher.toAbsolutePath().toString(),
                          "run",
                          "--config",
                          agentYaml.toString())
                      .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                      .redirectOutput(ProcessBuilder.Redirect.appendTo(agentLog.toFile()))
                      .redirectErrorStream(true);
              // Small and quick to start: two cores are shared by the agent, several simulators and
              // the load.
              pb.environment()
                  .put(
                      "ENVOY_AGENT_JAVA_OPTS",
                      "-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError");
              pb.environment().putAll(agentEnv);
              return pb.start();
            });
    Process agent = started.get(30, TimeUnit.SECONDS);
    agents.add(agent);
    return agent;
  }

  Process agent() {
    return agents.get(agents.size() - 1);
  }

  void signalAgent(String signal) throws IOException, InterruptedException {
    kill(signal, agent().pid());
  }

  static void kill(String signal, long pid) throws IOException, InterruptedException {
    ItProcesses.kill(signal, pid);
  }

  String agentLog() {
    try {
      return Files.readString(agentLog);
    } catch (IOException e) {
      return "";
    }
  }

  String envoyLog() {
    return ItStateDir.envoyLog(stateDir);
  }

  /** state_dir/status.json, or null while it does not exist yet. */
  JsonNode status() {
    return ItStateDir.status(stateDir);
  }

  long statusCount(String field) {
    JsonNode status = status();
    return status == null ? -1 : status.path(field).asLong(-1);
  }

  /** The agent's view of the live epochs: (epoch, pid) pairs from status.json. */
  List<long[]> statusEpochs() {
    JsonNode status = status();
    List<long[]> epochs = new ArrayList<>();
    if (status != null) {
      for (JsonNode e : status.path("epochs")) {
        epochs.add(new long[] {e.path("epoch").asLong(), e.path("pid").asLong()});
      }
    }
    return epochs;
  }

  boolean servingVersion(String version) {
    JsonNode status = status();
    return status != null
        && "SERVING".equals(status.path("phase").asText())
        && version.equals(status.path("appliedVersion").asText());
  }

  AdminClient envoyAdmin() {
    return new AdminClient(envoyAdminPort);
  }

  /** Serving Envoy processes of this test on the host (validate runs excluded), from /proc. */
  List<Long> envoyProcesses() {
    String bootstrap = stateDir.resolve("envoy").resolve("bootstrap.json").toString();
    return ItProcesses.matching(cmd -> cmd.contains(bootstrap) && cmd.contains("--restart-epoch"));
  }

  /**
   * Every process whose command line mentions this test's directory (agent, Envoy, validate runs).
   */
  List<Long> allProcesses() {
    return ItProcesses.matching(cmd -> cmd.contains(dir.toString()));
  }

  /**
   * Kills the agent(s) and every process of this test, Envoy included; waits until none is left.
   */
  @Override
  public void close() throws IOException {
    for (Process agent : agents) {
      agent.destroyForcibly();
    }
    try {
      for (int round = 0; round < 50; round++) {
        List<Long> left = allProcesses();
        if (left.isEmpty()) {
          return;
        }
        for (long pid : left) {
          kill("KILL", pid);
        }
        Thread.sleep(100);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    throw new IllegalStateException("processes of " + dir + " survive SIGKILL: " + allProcesses());
  }
}
