package dev.envoyagent.it;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * Process plumbing for the control-plane, registration and observability ITs (the same patterns as
 * {@link AgentHarness}): spawn from one long-lived thread, find processes by their command line in
 * /proc (Envoy is detached, so it is not a child of this JVM), and kill every process of a test
 * directory until none is left.
 */
final class ItProcesses {

  /** Small and quick to start: two shared cores carry agents, simulators and control planes. */
  static final String JAVA_OPTS =
      "-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError";

  private static final ExecutorService LAUNCHER =
      Executors.newSingleThreadExecutor(
          r -> {
            Thread t = new Thread(r, "it-launcher");
            t.setDaemon(true);
            return t;
          });

  private ItProcesses() {}

  static Path agentLauncher() {
    return Path.of(System.getProperty("envoy.agent", "target/envoy-agent")).toAbsolutePath();
  }

  /** {@code envoy-agent ARGS...}, output appended to {@code log}. */
  static Process startAgentCommand(Path log, String... args) throws Exception {
    return startAgentCommand(Map.of(), log, args);
  }

  /**
   * {@code envoy-agent ARGS...} with {@code env} added to its environment (it may override
   * JAVA_OPTS).
   */
  static Process startAgentCommand(Map<String, String> env, Path log, String... args)
      throws Exception {
    List<String> command = new ArrayList<>();
    command.add(agentLauncher().toString());
    command.addAll(List.of(args));
    return LAUNCHER
        .submit(
            () -> {
              ProcessBuilder pb =
                  new ProcessBuilder(command)
                      .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                      .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                      .redirectErrorStream(true);
              pb.environment().put("ENVOY_AGENT_JAVA_OPTS", JAVA_OPTS);
              pb.environment().putAll(env);
              return pb.start();
            })
        .get(30, TimeUnit.SECONDS);
  }

  /** The outcome of a short command: exit code and everything it printed. */
  record Outcome(int exitCode, String output) {}

  /** Runs {@code envoy-agent ARGS...} to completion (bounded). */
  static Outcome runAgentCommand(String... args) throws Exception {
    return runAgentCommand(Map.of(), args);
  }

  static Outcome runAgentCommand(Map<String, String> env, String... args) throws Exception {
    Path out = Files.createTempFile("envoy-agent-cli", ".out");
    try {
      Process p = startAgentCommand(env, out, args);
      if (!p.waitFor(AgentHarness.scaled(60).toSeconds(), TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("envoy-agent " + String.join(" ", args) + " did not finish");
      }
      return new Outcome(p.exitValue(), Files.readString(out));
    } finally {
      Files.deleteIfExists(out);
    }
  }

  static void kill(String signal, long pid) throws IOException, InterruptedException {
    new ProcessBuilder("kill", "-" + signal, Long.toString(pid))
        .redirectErrorStream(true)
        .start()
        .waitFor(10, TimeUnit.SECONDS);
  }

  /** Live (not zombie) processes whose command line passes {@code test}. */
  static List<Long> matching(Predicate<String> test) {
    List<Long> pids = new ArrayList<>();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path p : (Iterable<Path>) procs::iterator) {
        String name = p.getFileName().toString();
        if (!name.chars().allMatch(Character::isDigit)) {
          continue;
        }
        try {
          String cmd =
              new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8)
                  .replace('\0', ' ');
          String stat = Files.readString(p.resolve("stat"));
          boolean zombie = stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
          if (!zombie && test.test(cmd)) {
            pids.add(Long.parseLong(name));
          }
        } catch (IOException | RuntimeException e) {
          // the process ended while we looked
        }
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return pids;
  }

  /** Every process whose command line mentions {@code dir}. */
  static List<Long> under(Path dir) {
    return matching(cmd -> cmd.contains(dir.toString()));
  }

  /** SIGKILLs every process of {@code dir} until none is left. */
  static void killAll(Path dir) throws IOException {
    for (int round = 0; round < 50; round++) {
      List<Long> left = under(dir);
      if (left.isEmpty()) {
        return;
      }
      try {
        for (long pid : left) {
          kill("KILL", pid);
        }
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while killing the processes of " + dir, e);
      }
    }
    throw new IllegalStateException("processes of " + dir + " survive SIGKILL: " + under(dir));
  }
}
