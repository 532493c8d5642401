package dev.envoyagent.testkit.envoy;

import static org.awaitility.Awaitility.await;

import dev.envoyagent.testkit.AdminClient;
import dev.envoyagent.testkit.SimulatorProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shared plumbing for the end-to-end tests: every process started here is killed after each test.
 */
abstract class ItSupport {
  static final Duration STARTUP = Duration.ofSeconds(60);

  @TempDir Path dir;
  final long baseId = ThreadLocalRandom.current().nextLong(1_000, 1_000_000_000);
  private final List<AutoCloseable> resources = Collections.synchronizedList(new ArrayList<>());

  <T extends AutoCloseable> T closeLater(T resource) {
    resources.add(resource);
    return resource;
  }

  @AfterEach
  void closeEverything() throws Exception {
    List<AutoCloseable> copy = new ArrayList<>(resources);
    Collections.reverse(copy);
    for (AutoCloseable r : copy) {
      r.close();
    }
  }

  Map<String, String> env(String... keyValues) {
    Map<String, String> env = new HashMap<>();
    env.put("ENVOY_SIM_SHM_DIR", dir.resolve("shm").toString());
    for (int i = 0; i + 1 < keyValues.length; i += 2) {
      env.put(keyValues[i], keyValues[i + 1]);
    }
    return env;
  }

  SimulatorProcess start(
      Path config,
      int epoch,
      int drainS,
      int parentShutdownS,
      Map<String, String> env,
      String... extraArgs)
      throws IOException {
    List<String> args =
        new ArrayList<>(SimulatorProcess.flags(config, baseId, epoch, drainS, parentShutdownS));
    args.addAll(List.of(extraArgs));
    return closeLater(
        SimulatorProcess.start(
            args, env, dir.resolve("epoch-" + epoch + "-" + System.nanoTime() + ".log")));
  }

  static void awaitLive(AdminClient admin, int epoch, SimulatorProcess p) {
    await()
        .atMost(STARTUP)
        .pollInterval(Duration.ofMillis(50))
        .until(
            () -> {
              if (!p.isAlive()) {
                throw new AssertionError("epoch " + epoch + " exited: " + p.log());
              }
              AdminClient.EpochState s = admin.epochState();
              return s != null && s.epoch() == epoch && "LIVE".equals(s.state());
            });
  }

  Path write(String name, String content) throws IOException {
    Path p = dir.resolve(name);
    Files.createDirectories(p.getParent());
    Files.writeString(p, content);
    return p;
  }

  /** What the agent does: temp file in the same directory, then rename into place. */
  Path writeAtomically(Path target, String content) throws IOException {
    Files.createDirectories(target.getParent());
    Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
    Files.writeString(tmp, content);
    return Files.move(
        tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}
