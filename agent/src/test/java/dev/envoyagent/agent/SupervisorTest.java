package dev.envoyagent.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.apply.AppliedConfig;
import dev.envoyagent.config.AgentConfigLoader;
import dev.envoyagent.envoy.EnvoyAdmin;
import dev.envoyagent.envoy.EnvoyCommand;
import dev.envoyagent.envoy.EnvoyProcess;
import dev.envoyagent.envoy.ProcessControl;
import dev.envoyagent.model.RouteSnapshots;
import dev.envoyagent.render.RenderedFiles;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The supervisor's decisions with a fake Envoy, a manual loop and a manual clock: no sleeping. */
class SupervisorTest {

  @TempDir Path dir;

  private final AtomicLong clock = new AtomicLong(1_000_000_000L);
  private final ManualLoop loop = new ManualLoop();
  private final FakeProcesses processes = new FakeProcesses();
  private Supervisor supervisor;
  private StatusBoard status;
  private dev.envoyagent.config.AgentSettings settings;

  @BeforeEach
  void setUp() throws Exception {
    Files.writeString(
        dir.resolve("agent.yaml"),
        String.join(
            "\n",
            "node: {id: unit, cluster: unit}",
            "routes: {file: routes.yaml}",
            "envoy: {binary: "
                + dir.resolve("envoy")
                + ", drain_time_s: 2, parent_shutdown_time_s: 3,",
            "  delivery: restart, ready_timeout_s: 5, stop_timeout_s: 3}",
            "state_dir: state",
            "restart: {min_interval_ms: 0, debounce_ms: 0}",
            ""));
    settings = AgentConfigLoader.load(dir.resolve("agent.yaml"));
    Files.createDirectories(settings.stateDir());
    status = new StatusBoard(settings.stateDir().resolve("status.json"), () -> 0);
    supervisor =
        new Supervisor(
            settings, loop, processes, port -> processes, clock::get, new Random(1), status);
    supervisor.start();
    loop.runPending();
  }

  @Test
  void aNewEpochNotLiveInTimeIsKilledNotTermedAndTheRetryIsAColdRestart() {
    EnvoyProcess parent = serve("1");
    supervisor.submit(snapshot("2", 8081));
    tick();
    EnvoyProcess child = processes.newest();
    assertThat(child.epoch()).isEqualTo(1);

    advance(Duration.ofSeconds(6)); // past ready_timeout_s, never LIVE
    tick();
    // SIGTERM would make the child ask its serving parent to terminate (Envoy's shutdown()).
    assertThat(processes.signals).containsExactly(child.pid() + " KILL");
    assertThat(processes.isAlive(parent)).isTrue();
    assertThat(processes.posts).isEmpty();

    // The killed child left the INITIALIZING flag set: a hot restart could never go LIVE again.
    advance(Duration.ofSeconds(3)); // past the retry backoff
    tick();
    assertThat(processes.posts).containsExactly("/healthcheck/fail", "/drain_listeners?graceful");
    advance(Duration.ofSeconds(3)); // drain_time_s
    tick();
    assertThat(processes.signals).containsExactly(child.pid() + " KILL", parent.pid() + " TERM");
    tick();
    assertThat(processes.newest().epoch()).as("a fresh family clears the flag").isZero();
  }

  @Test
  void anEnvoyOlderThanTheSupportedMinimumIsNotStarted() {
    processes.versionOutput = "envoy  version: 0123abcd/1.29.4/Clean/RELEASE/BoringSSL";
    supervisor.submit(snapshot("1", 8080));
    tick();
    assertThat(processes.launched).isEmpty();
    assertThat(processes.validations).isZero();
    assertThat(statusOf().lastError()).contains("1.29.4").contains("older than 1.30.0");
  }

  @Test
  void aRenderNeedingMoreInotifyInstancesThanTheHostLeavesIsRefused() throws Exception {
    Files.writeString(
        dir.resolve("agent.yaml"),
        Files.readString(dir.resolve("agent.yaml"))
            .replace("delivery: restart", "delivery: files"));
    settings = AgentConfigLoader.load(dir.resolve("agent.yaml"));
    restartWithEnvoyGone();
    processes.inotifyLimit = new dev.envoyagent.envoy.InotifyBudget.InotifyLimit(8, 3, "unit");
    supervisor.submit(snapshot("1", 8080)); // lds, cds, rds/web, eds/web: 4 files, 8 instances
    tick();
    assertThat(processes.launched).isEmpty();
    assertThat(statusOf().lastError())
        .contains("fs.inotify.max_user_instances=8")
        .contains("need 8");
  }

  @Test
  void aColdRestartDrainsForTheWholeDrainTimeEvenWhenValidationWasSlow() {
    EnvoyProcess old = serve("1");
    processes.hotRestartVersion =
        "12.0"; // a new Envoy binary that cannot hot restart from the old one
    processes.validateCost = Duration.ofSeconds(5);
    supervisor.submit(snapshot("2", 8081));
    tick();
    assertThat(processes.posts).containsExactly("/healthcheck/fail", "/drain_listeners?graceful");

    advance(Duration.ofMillis(1500));
    tick();
    assertThat(processes.signals).as("still draining").isEmpty();
    advance(Duration.ofMillis(600));
    tick();
    assertThat(processes.signals).containsExactly(old.pid() + " TERM");
    tick(); // the old one exited: epoch 0 again
    assertThat(processes.newest().epoch()).isZero();
    assertThat(processes.newest().pid()).isNotEqualTo(old.pid());
  }

  @Test
  void aRefusedConfigIsNotRetriedUntilANewVersionComes() {
    serve("1");
    processes.validationOk = false;
    supervisor.submit(snapshot("2", 8081));
    tick();
    supervisor.submit(snapshot("2", 8081));
    tick();
    assertThat(processes.validations).isEqualTo(2); // v1, v2 once
    assertThat(processes.launched).hasSize(1);

    processes.validationOk = true;
    supervisor.submit(snapshot("3", 8081)); // same content, new version: Envoy is asked again
    tick();
    assertThat(processes.validations).isEqualTo(3);
    assertThat(processes.newest().epoch()).isEqualTo(1);
  }

  @Test
  void theLastKnownGoodStartsEnvoyAtOnceWithoutValidationOrWaitingForATick() {
    supervisor.submitKnownGood(snapshot("7", 8080));
    loop.runPending(); // only the submitted task, not the periodic tick

    assertThat(processes.launched).hasSize(1);
    assertThat(processes.newest().epoch()).isZero();
    assertThat(processes.validations).as("validated when it was first applied").isZero();
  }

  @Test
  void theLastKnownGoodDoesNotReplaceANewerSnapshotSubmittedBeforeIt() {
    supervisor.submit(snapshot("8", 8081));
    supervisor.submitKnownGood(snapshot("7", 8080));
    loop.runPending();
    assertThat(processes.launched).as("a new snapshot waits for the tick and validation").isEmpty();

    tick();
    assertThat(processes.launched).hasSize(1);
    assertThat(processes.validations).isEqualTo(1);
  }

  @Test
  void theLastKnownGoodStartsFromTheFilesItLeftInTheConfigDirWithoutRenderingThemAgain()
      throws Exception {
    serve("7");
    Path bootstrap = settings.envoy().configDir().resolve("bootstrap.json");
    AppliedConfig record = AppliedConfig.read(LaunchPlan.appliedRecordFile(settings)).orElseThrow();
    assertThat(record.version()).isEqualTo("7");
    // Files a render would not produce, and a record that vouches for them: only a start from disk
    // keeps them.
    byte[] marked = (Files.readString(bootstrap) + "\n").getBytes(StandardCharsets.UTF_8);
    Files.write(bootstrap, marked);
    new AppliedConfig(
            record.version(),
            record.snapshotSha256(),
            record.renderInputs(),
            new RenderedFiles("7", marked, new java.util.TreeMap<>()).digest(),
            record.watchedVersions())
        .write(LaunchPlan.appliedRecordFile(settings));

    restartWithEnvoyGone();
    supervisor.submitKnownGood(snapshot("7", 8080));
    loop.runPending();

    assertThat(processes.launched).hasSize(2);
    assertThat(Files.readAllBytes(bootstrap))
        .as("started from the files on disk")
        .isEqualTo(marked);
  }

  @Test
  void theLastKnownGoodIsRenderedAgainWhenTheConfigDirNoLongerHoldsItsFiles() throws Exception {
    serve("7");
    Path bootstrap = settings.envoy().configDir().resolve("bootstrap.json");
    String rendered = Files.readString(bootstrap);
    Files.writeString(
        bootstrap, rendered + "\n"); // edited by hand since: the record no longer matches

    restartWithEnvoyGone();
    supervisor.submitKnownGood(snapshot("7", 8080));
    loop.runPending();

    assertThat(processes.launched).hasSize(2);
    assertThat(Files.readString(bootstrap)).isEqualTo(rendered);
  }

  @Test
  void aCorruptRecordOfTheAppliedConfigIsIgnoredAndTheLastKnownGoodRenderedAgain()
      throws Exception {
    serve("7");
    Files.writeString(LaunchPlan.appliedRecordFile(settings), "{\"version\": \"7\", \"files");

    restartWithEnvoyGone();
    supervisor.submitKnownGood(snapshot("7", 8080));
    loop.runPending();

    assertThat(processes.launched).hasSize(2);
    processes.live.add(processes.newest().pid());
    tick();
    assertThat(AppliedConfig.read(LaunchPlan.appliedRecordFile(settings)))
        .as("written again once LIVE")
        .hasValueSatisfying(r -> assertThat(r.version()).isEqualTo("7"));
  }

  /** A new agent on the same state directory, after its Envoy exited too (a reboot). */
  private void restartWithEnvoyGone() {
    processes.alive.clear();
    status = new StatusBoard(settings.stateDir().resolve("status.json"), () -> 0);
    supervisor =
        new Supervisor(
            settings, loop, processes, port -> processes, clock::get, new Random(2), status);
    supervisor.start();
    loop.runPending();
  }

  /** Starts epoch 0 with {@code version} and makes it LIVE. */
  private EnvoyProcess serve(String version) {
    supervisor.submit(snapshot(version, 8080));
    tick();
    EnvoyProcess first = processes.newest();
    processes.live.add(first.pid());
    tick();
    return first;
  }

  private AgentStatus statusOf() {
    return status.snapshot();
  }

  private void tick() {
    loop.tick();
    // Whatever was launched in this tick reports LIVE only when the test says so.
  }

  private void advance(Duration d) {
    clock.addAndGet(d.toNanos());
  }

  private static RouteSnapshot snapshot(String version, int endpointPort) {
    String yaml =
        "version: \""
            + version
            + "\"\nservices:\n  - {name: web, protocol: HTTP, local_port: 10080, "
            + "endpoints: [{address: 127.0.0.1, port: "
            + endpointPort
            + "}]}\n";
    try {
      return RouteSnapshots.parse(yaml.getBytes(StandardCharsets.UTF_8));
    } catch (dev.envoyagent.model.InvalidInputException e) {
      throw new AssertionError(e);
    }
  }

  /**
   * Tasks run only when the test says: {@link #tick()} runs what is queued, then the periodic task.
   */
  private static final class ManualLoop extends AbstractExecutorService
      implements ScheduledExecutorService {
    private final Queue<Runnable> queue = new ArrayDeque<>();
    private Runnable periodic = () -> {};

    void runPending() {
      for (Runnable r = queue.poll(); r != null; r = queue.poll()) {
        r.run();
      }
    }

    void tick() {
      runPending();
      periodic.run();
      runPending();
    }

    @Override
    public void execute(Runnable command) {
      queue.add(command);
    }

    @Override
    public ScheduledFuture<?> scheduleWithFixedDelay(
        Runnable command, long initialDelay, long delay, TimeUnit unit) {
      periodic = command;
      return null;
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
      throw new UnsupportedOperationException();
    }

    @Override
    public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
      throw new UnsupportedOperationException();
    }

    @Override
    public ScheduledFuture<?> scheduleAtFixedRate(
        Runnable command, long initialDelay, long period, TimeUnit unit) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void shutdown() {}

    @Override
    public List<Runnable> shutdownNow() {
      return List.of();
    }

    @Override
    public boolean isShutdown() {
      return false;
    }

    @Override
    public boolean isTerminated() {
      return false;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
      return true;
    }
  }

  /**
   * Envoy processes and their admin API in one fake; the admin answers as the newest live process.
   */
  private final class FakeProcesses implements ProcessControl, EnvoyAdmin {
    final List<EnvoyProcess> launched = new ArrayList<>();
    final Set<Long> alive = new HashSet<>();
    final Set<Long> live = new HashSet<>();
    final List<String> signals = new ArrayList<>();
    final List<String> posts = new ArrayList<>();
    boolean ignoreTerm;
    String versionOutput = "envoy  version: 0123abcd/1.36.2/Clean/RELEASE/BoringSSL";
    dev.envoyagent.envoy.InotifyBudget.InotifyLimit inotifyLimit;
    boolean validationOk = true;
    int validations;
    Duration validateCost = Duration.ZERO;
    String hotRestartVersion = "11.104";

    /**
     * What each started Envoy reports about itself: the version of the binary it was started from.
     */
    final Map<Long, String> runningVersions = new java.util.HashMap<>();

    private long nextPid = 100;

    EnvoyProcess newest() {
      return launched.get(launched.size() - 1);
    }

    @Override
    public EnvoyProcess launch(
        EnvoyCommand command, Path logFile, String launchDigest, String version) {
      EnvoyProcess p =
          new EnvoyProcess(
              command.epoch(),
              nextPid++,
              1,
              launchDigest,
              version,
              command.baseId(),
              command.concurrency(),
              0);
      launched.add(p);
      alive.add(p.pid());
      runningVersions.put(p.pid(), hotRestartVersion);
      return p;
    }

    @Override
    public boolean isAlive(EnvoyProcess process) {
      return alive.contains(process.pid());
    }

    @Override
    public void signal(EnvoyProcess process, String signal) {
      if (!isAlive(process)) {
        return;
      }
      signals.add(process.pid() + " " + signal);
      if (signal.equals("KILL") || (signal.equals("TERM") && !ignoreTerm)) {
        alive.remove(process.pid());
      }
    }

    @Override
    public Validation validate(Path binary, Path config, Duration timeout) {
      validations++;
      advance(validateCost);
      return new Validation(
          validationOk, validationOk ? "OK" : "error initializing configuration: refused");
    }

    @Override
    public Optional<String> hotRestartVersion(Path binary, Duration timeout) {
      return Optional.of(hotRestartVersion);
    }

    @Override
    public ServerInfo serverInfo() throws java.io.IOException {
      EnvoyProcess answering =
          launched.stream()
              .filter(p -> alive.contains(p.pid()))
              .reduce((a, b) -> b)
              .orElseThrow(() -> new java.io.IOException("connection refused"));
      return new ServerInfo(
          live.contains(answering.pid()) ? "LIVE" : "INITIALIZING",
          answering.epoch(),
          runningVersions.get(answering.pid()),
          "fake",
          1);
    }

    @Override
    public JsonNode configDump() {
      return new ObjectMapper().createObjectNode();
    }

    @Override
    public Optional<String> version(Path binary, Duration timeout) {
      return Optional.of(versionOutput);
    }

    @Override
    public Optional<dev.envoyagent.envoy.InotifyBudget.InotifyLimit> inotifyLimit(
        java.util.Collection<EnvoyProcess> envoy) {
      return Optional.ofNullable(inotifyLimit);
    }

    @Override
    public Map<String, String> stats(String filter) {
      return Map.of();
    }

    @Override
    public Map<String, UpstreamCount> upstreamHealth() {
      return Map.of();
    }

    @Override
    public boolean post(String pathAndQuery) {
      posts.add(pathAndQuery);
      return true;
    }
  }
}
