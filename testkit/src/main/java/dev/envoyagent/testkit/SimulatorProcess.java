package dev.envoyagent.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A running Envoy simulator ({@code testkit/target/envoy-simulator}) for end-to-end tests.
 *
 * <p>The simulator, like Envoy, asks for SIGTERM when the thread that spawned it exits
 * (PR_SET_PDEATHSIG). So every process is spawned from one launcher thread that lives as long as
 * the JVM, never from a test thread. Output goes to a log file, not a pipe. {@link #close()} kills
 * the process; a shutdown hook kills any a test forgot.
 */
public final class SimulatorProcess implements AutoCloseable {
  private static final ExecutorService LAUNCHER =
      Executors.newSingleThreadExecutor(
          r -> {
            Thread t = new Thread(r, "simulator-launcher");
            t.setDaemon(true);
            return t;
          });
  private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly)));
  }

  private final Process process;
  private final Path logFile;
  private final List<String> args;

  private SimulatorProcess(Process process, Path logFile, List<String> args) {
    this.process = process;
    this.logFile = logFile;
    this.args = args;
  }

  /**
   * The launcher: system property {@code envoy.simulator}, else {@code
   * testkit/target/envoy-simulator} nearby.
   */
  public static Path launcher() {
    String configured = System.getProperty("envoy.simulator");
    if (configured != null) {
      return Path.of(configured);
    }
    Path dir = Path.of("").toAbsolutePath();
    for (int i = 0; i < 4 && dir != null; i++, dir = dir.getParent()) {
      for (Path candidate :
          List.of(
              dir.resolve("target/envoy-simulator"),
              dir.resolve("testkit/target/envoy-simulator"))) {
        if (Files.isExecutable(candidate)) {
          return candidate;
        }
      }
    }
    throw new IllegalStateException(
        "envoy-simulator not found: build testkit first (mvn -pl testkit package)");
  }

  /** Starts the simulator with Envoy's command line; stdout and stderr go to {@code logFile}. */
  public static SimulatorProcess start(List<String> args, Map<String, String> env, Path logFile)
      throws IOException {
    List<String> command = new ArrayList<>();
    command.add(launcher().toString());
    command.addAll(args);
    ProcessBuilder pb =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
    pb.environment().putAll(env);
    try {
      Process p = LAUNCHER.submit(pb::start).get(30, TimeUnit.SECONDS);
      LIVE.add(p);
      p.onExit().thenRun(() -> LIVE.remove(p));
      return new SimulatorProcess(p, logFile, List.copyOf(args));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while starting the simulator", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IOException("cannot start " + command, e.getCause() == null ? e : e.getCause());
    }
  }

  /** Runs to completion (validate mode, --hot-restart-version); returns exit code and output. */
  public static Result run(List<String> args, Map<String, String> env, Duration timeout)
      throws IOException {
    Path log = Files.createTempFile("envoy-simulator", ".log");
    try (SimulatorProcess p = start(args, env, log)) {
      int code = p.waitFor(timeout);
      return new Result(code, Files.readString(log));
    } finally {
      Files.deleteIfExists(log);
    }
  }

  /** Exit code and combined stdout/stderr of a finished run. */
  public record Result(int exitCode, String output) {}

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public List<String> args() {
    return args;
  }

  public Path logFile() {
    return logFile;
  }

  public String log() {
    try {
      return Files.readString(logFile);
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  /** Waits for exit; returns the exit code (128 + n when killed by signal n), or -1 on timeout. */
  public int waitFor(Duration timeout) {
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        return -1;
      }
      return process.exitValue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** Sends a signal by name (TERM, INT, HUP, USR1, KILL...) through kill(1). */
  public void signal(String name) throws IOException {
    try {
      Process kill =
          new ProcessBuilder("kill", "-s", name, Long.toString(pid())).inheritIO().start();
      if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
        throw new IOException("kill -s " + name + " " + pid() + " failed");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited within the grace period; returns the exit code. */
  public int stop(Duration grace) {
    if (!process.isAlive()) {
      return process.exitValue();
    }
    process.destroy();
    int code = waitFor(grace);
    if (code == -1) {
      process.destroyForcibly();
      code = waitFor(Duration.ofSeconds(10));
    }
    return code;
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroyForcibly();
      waitFor(Duration.ofSeconds(10));
    }
  }

  /** Common Envoy flags for tests: base id, epoch and short drain/parent-shutdown times. */
  public static List<String> flags(
      Path config, long baseId, int epoch, int drainS, int parentShutdownS) {
    Map<String, String> f = new LinkedHashMap<>();
    f.put("-c", config.toString());
    f.put("--base-id", Long.toString(baseId));
    f.put("--restart-epoch", Integer.toString(epoch));
    f.put("--drain-time-s", Integer.toString(drainS));
    f.put("--parent-shutdown-time-s", Integer.toString(parentShutdownS));
    f.put("--concurrency", "2");
    List<String> out = new ArrayList<>();
    f.forEach(
        (k, v) -> {
          out.add(k);
          out.add(v);
        });
    return out;
  }
}
