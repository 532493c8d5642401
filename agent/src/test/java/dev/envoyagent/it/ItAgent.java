package dev.envoyagent.it;

import com.fasterxml.jackson.databind.JsonNode;
import dev.envoyagent.testkit.AdminClient;
import dev.envoyagent.testkit.Ports;
import dev.envoyagent.testkit.SimulatorProcess;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * One agent process for the control-plane, registration and observability ITs: its own directory
 * (agent.yaml, optional routes file, state_dir, the simulator's shared-memory dir), Envoy = the
 * testkit simulator behind a wrapper script, its own Envoy admin port and agent admin port. The
 * agent's output is read through a pipe and every line is stamped with the milliseconds since that
 * agent process was started (the agent prints no time when stderr is not a terminal), so tests can
 * tell where start-up time goes.
 */
final class ItAgent implements AutoCloseable {

  /**
   * Spawns from one long-lived thread (as AgentHarness), and reads each agent's output on another.
   */
  private static final ExecutorService LAUNCHER =
      Executors.newSingleThreadExecutor(
          r -> {
            Thread t = new Thread(r, "it-agent-launcher");
            t.setDaemon(true);
            return t;
          });

  final String nodeId;
  final Path dir;
  final Path stateDir;
  final Path agentYaml;
  final Path routesFile;
  final Path envoyBinary;
  final Path logFile;
  final int envoyAdminPort = Ports.free();
  final int adminPort = Ports.free();
  final int baseId = ThreadLocalRandom.current().nextInt(1000, 1_000_000);

  /** What goes into agent.yaml; set before {@link #writeConfig()}. */
  List<String> controlPlaneAddresses = List.of();

  /** {@code null}: plaintext; otherwise the flow map of routes.control_plane.tls. */
  String tls;

  boolean useRoutesFile;
  int heartbeatIntervalMs = 500;
  String zone = "us-east-1a";
  List<String> localServices = List.of();

  /** The agent JVM's options; null for the launcher's own, as on a host. */
  String javaOpts = ItProcesses.JAVA_OPTS;

  private final StringBuffer log = new StringBuffer();
  private final List<Process> processes = new ArrayList<>();
  private volatile long startedAtNanos;

  private ItAgent(String nodeId, Path dir) {
    this.nodeId = nodeId;
    this.dir = dir;
    this.stateDir = dir.resolve("state");
    this.agentYaml = dir.resolve("agent.yaml");
    this.routesFile = dir.resolve("routes.yaml");
    this.envoyBinary = dir.resolve("envoy");
    this.logFile = dir.resolve("agent.log");
  }

  /** A new agent directory {@code parent/nodeId}, with the Envoy wrapper written. */
  static ItAgent create(Path parent, String nodeId) throws IOException {
    Path dir = parent.resolve(nodeId).toAbsolutePath();
    Files.createDirectories(dir.resolve("shm"));
    ItAgent agent = new ItAgent(nodeId, dir);
    agent.writeEnvoyBinary(Map.of());
    return agent;
  }

  /** A test directory under target/it, unique per run. */
  static Path testDir(String name) throws IOException {
    Path dir = Path.of("target", "it", name + "-" + System.currentTimeMillis()).toAbsolutePath();
    Files.createDirectories(dir);
    return dir;
  }

  /**
   * The "Envoy binary": exec's the simulator with its own shared-memory dir; {@code serveOnlyEnv}
   * is exported for serving runs only, not for {@code --mode validate} or {@code
   * --hot-restart-version}.
   */
  void writeEnvoyBinary(Map<String, String> serveOnlyEnv) throws IOException {
    StringBuilder sh = new StringBuilder("#!/bin/sh\n");
    sh.append("export ENVOY_SIM_SHM_DIR='").append(dir.resolve("shm")).append("'\n");
    if (!serveOnlyEnv.isEmpty()) {
      sh.append(
          "case \" $* \" in *' --mode validate '*|*' --mode=validate '*|*--hot-restart-version*) ;;\n  *) ");
      serveOnlyEnv.forEach(
          (k, v) -> sh.append("export ").append(k).append("='").append(v).append("'; "));
      sh.append(";;\nesac\n");
    }
    sh.append("exec '").append(SimulatorProcess.launcher().toAbsolutePath()).append("' \"$@\"\n");
    atomicWrite(envoyBinary, sh.toString());
    Files.setPosixFilePermissions(envoyBinary, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  void writeConfig() throws IOException {
    List<String> yaml = new ArrayList<>();
    yaml.add("node: {id: " + nodeId + ", cluster: it, zone: " + zone + ", address: 127.0.0.1}");
    yaml.add("routes:");
    if (useRoutesFile) {
      yaml.add("  file: routes.yaml");
    }
    if (!controlPlaneAddresses.isEmpty()) {
      yaml.add("  control_plane:");
      yaml.add(
          "    addresses: ["
              + String.join(", ", controlPlaneAddresses.stream().map(a -> "\"" + a + "\"").toList())
              + "]");
      yaml.add(tls == null ? "    plaintext: true" : "    tls: " + tls);
      yaml.add("    splay_ms: 0");
      yaml.add("    connect_timeout_ms: 1000");
      yaml.add(
          "heartbeat: {interval_ms: "
              + heartbeatIntervalMs
              + ", timeout_ms: "
              + (heartbeatIntervalMs * 4 / 5)
              + "}");
    }
    yaml.add("envoy:");
    yaml.add("  binary: " + envoyBinary);
    yaml.add("  admin_port: " + envoyAdminPort);
    yaml.add("  base_id: " + baseId);
    yaml.add("  drain_time_s: 1");
    yaml.add("  parent_shutdown_time_s: 2");
    yaml.add("  ready_timeout_s: 20");
    yaml.add("  stop_timeout_s: 5");
    yaml.add("state_dir: state");
    yaml.add("ec2: \"off\""); // no IMDS probe: loopback only, and it would add to start-up time
    yaml.add("admin: {listen: 127.0.0.1:" + adminPort + "}");
    yaml.add("restart: {min_interval_ms: 500, debounce_ms: 100}");
    if (!localServices.isEmpty()) {
      yaml.add("local_services:");
      localServices.forEach(s -> yaml.add("  - " + s));
    }
    atomicWrite(agentYaml, String.join("\n", yaml) + "\n");
  }

  /**
   * A local service with an HTTP check on /health every 200 ms: up after one pass, down after two
   * failures. (With timeout 100 ms and fall 1, checks on this shared 2-core machine timed out now
   * and then and the registration flapped; 200 ms and fall 2 cost at most one more interval.)
   */
  static String httpLocalService(String name, int port) {
    return "{name: "
        + name
        + ", port: "
        + port
        + ", check: {http_path: /health}, interval_ms: 200, timeout_ms: 200,"
        + " rise: 1, fall: 2}";
  }

  void routes(String yaml) throws IOException {
    atomicWrite(routesFile, yaml);
  }

  static void atomicWrite(Path file, String content) throws IOException {
    Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
    Files.writeString(tmp, content, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  // ---- the process ----

  /** Starts {@code envoy-agent run --config agent.yaml} (writing the config first). */
  Process start() throws Exception {
    writeConfig();
    log.append("------ agent start\n");
    Process process =
        LAUNCHER
            .submit(
                () -> {
                  ProcessBuilder pb =
                      new ProcessBuilder(
                              ItProcesses.agentLauncher().toString(),
                              "run",
                              "--config",
                              agentYaml.toString())
                          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                          .redirectErrorStream(true);
                  if (javaOpts == null) {
                    pb.environment().remove("ENVOY_AGENT_JAVA_OPTS");
                  } else {
                    pb.environment().put("ENVOY_AGENT_JAVA_OPTS", javaOpts);
                  }
                  startedAtNanos = System.nanoTime();
                  return pb.start();
                })
            .get(30, TimeUnit.SECONDS);
    processes.add(process);
    long started = startedAtNanos;
    Thread reader = new Thread(() -> copyOutput(process, started), "it-agent-log-" + nodeId);
    reader.setDaemon(true);
    reader.start();
    return process;
  }

  private void copyOutput(Process process, long started) {
    try (BufferedReader in =
            new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        Writer file =
            Files.newBufferedWriter(
                logFile,
                StandardCharsets.UTF_8,
                StandardOpenOption.CREATE,
                StandardOpenOption.APPEND)) {
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        String stamped = String.format("%6d %s%n", (System.nanoTime() - started) / 1_000_000, line);
        log.append(stamped);
        file.write(stamped);
        file.flush();
      }
    } catch (IOException e) {
      log.append("(output reader stopped: ").append(e).append(")\n");
    }
  }

  /** When this agent process was started ({@link System#nanoTime()}). */
  long startedAtNanos() {
    return startedAtNanos;
  }

  Process process() {
    return processes.get(processes.size() - 1);
  }

  boolean alive() {
    return !processes.isEmpty() && process().isAlive();
  }

  void signal(String signal) throws IOException, InterruptedException {
    ItProcesses.kill(signal, process().pid());
  }

  /** Everything the agent printed, each line prefixed with ms since its process start. */
  String log() {
    return log.toString();
  }

  /**
   * Ms since start at which the last started agent first logged a line containing {@code needle},
   * or -1.
   */
  long loggedAtMs(String needle) {
    String text = log();
    int start = text.lastIndexOf("------ agent start\n");
    for (String line : text.substring(Math.max(0, start)).split("\n")) {
      if (line.contains(needle) && !line.startsWith("------")) {
        return Long.parseLong(line.substring(0, 6).strip());
      }
    }
    return -1;
  }

  String envoyLog() {
    return ItStateDir.envoyLog(stateDir);
  }

  /** state_dir/status.json, or null while it does not exist yet. */
  JsonNode status() {
    return ItStateDir.status(stateDir);
  }

  String appliedVersion() {
    JsonNode status = status();
    return status == null ? "" : status.path("appliedVersion").asText();
  }

  boolean serving(String version) {
    JsonNode status = status();
    return status != null
        && "SERVING".equals(status.path("phase").asText())
        && version.equals(status.path("appliedVersion").asText());
  }

  AdminClient envoyAdmin() {
    return new AdminClient(envoyAdminPort);
  }

  /** The agent's own admin listener (/metrics, /status, ...). */
  AdminClient admin() {
    return new AdminClient(adminPort);
  }

  String adminAddress() {
    return "127.0.0.1:" + adminPort;
  }

  /** Serving Envoy processes of this agent (validate runs excluded). */
  List<Long> envoyProcesses() {
    String bootstrap = stateDir.resolve("envoy").resolve("bootstrap.json").toString();
    return ItProcesses.matching(cmd -> cmd.contains(bootstrap) && cmd.contains("--restart-epoch"));
  }

  /** Every process of this agent: the agent itself, its Envoys, validate runs. */
  List<Long> allProcesses() {
    return ItProcesses.under(dir);
  }

  @Override
  public void close() throws IOException {
    for (Process p : processes) {
      p.destroyForcibly();
    }
    ItProcesses.killAll(dir);
    try {
      for (Process p : processes) {
        p.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
