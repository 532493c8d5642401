package dev.envoyagent.agent;

import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.apply.AppliedConfig;
import dev.envoyagent.apply.ConfigWriter;
import dev.envoyagent.apply.VersionHistory;
import dev.envoyagent.config.AgentSettings;
import dev.envoyagent.envoy.ConfigDumpErrors;
import dev.envoyagent.envoy.EnvoyAdmin;
import dev.envoyagent.envoy.EnvoyProcess;
import dev.envoyagent.envoy.EnvoyVersion;
import dev.envoyagent.envoy.FileSubscriptions;
import dev.envoyagent.envoy.InotifyBudget;
import dev.envoyagent.envoy.ProcessControl;
import dev.envoyagent.envoy.ProcessTable;
import dev.envoyagent.model.InvalidInputException;
import dev.envoyagent.render.RenderedConfig;
import dev.envoyagent.support.Backoff;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;
import java.util.SortedMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one Envoy serving the newest valid snapshot. The only place that decides epochs, restarts
 * and retries; every decision runs on one thread ({@code loop}), driven by a periodic tick and by
 * new snapshots. The protocol:
 *
 * <ul>
 *   <li>A snapshot whose launch digest (bootstrap, flags, binary) equals the serving epoch's is
 *       applied by writing the watched files; Envoy reloads them and the agent confirms each file's
 *       version in its subscription's stats ({@code version_text}). A rejection (a failure counter
 *       rose) restores the previous files. Files need inotify instances: a render that needs more
 *       than the host's limit leaves is refused.
 *   <li>Otherwise Envoy is hot restarted: the snapshot is first validated by Envoy in restart shape
 *       (all of it static, as {@code --mode validate} reads no xDS file), the next epoch is highest
 *       live + 1, and it starts only when the current epoch is LIVE. Restarts are debounced and at
 *       least restart.min_interval_ms (plus jitter) apart. A child that fails leaves the parent
 *       serving and is retried with backoff; the agent never kills a serving parent. A child that
 *       is not LIVE in time gets SIGKILL: SIGTERM would make it ask its parent to terminate.
 *   <li>A new hot-restart version, another base id or concurrency, three failed hot restarts in a
 *       row, or a child killed mid-start (its INITIALIZING flag stays set in shared memory, so no
 *       later child could start): a planned cold restart (fail health checks, drain, stop, start
 *       epoch 0).
 *   <li>No Envoy left alive: start epoch 0 from the last applied files, with backoff.
 * </ul>
 */
public final class Supervisor {

  private static final Logger LOG = LoggerFactory.getLogger(Supervisor.class);
  static final Duration TICK = Duration.ofMillis(200);
  static final Duration VERIFY_TIMEOUT = Duration.ofSeconds(15);
  static final Duration STABLE_AFTER = Duration.ofSeconds(30);
  static final int HOT_RESTART_FAILURES_BEFORE_COLD = 3;
  static final Duration VALIDATE_TIMEOUT = Duration.ofSeconds(60);
  static final Duration BINARY_CHECK = Duration.ofSeconds(5);

  enum Phase {
    IDLE,
    STARTING,
    SERVING,
    HOT_RESTARTING,
    COLD_DRAINING,
    COLD_STOPPING,
    BACKOFF,
    STOPPED
  }

  /**
   * An update in flight: a new epoch to come up ({@code child}), or watched files to be confirmed
   * ({@code subscriptions}, with their failure counters before the write when known; after a
   * restart they are not, as the child merges its parent's counters).
   */
  private record Attempt(
      LaunchPlan plan,
      EnvoyProcess child,
      long deadlineNanos,
      List<FileSubscriptions.Subscription> subscriptions,
      Map<String, Long> failuresBefore,
      boolean restarted,
      long logOffset) {
    static Attempt newEpoch(
        LaunchPlan plan, EnvoyProcess child, long deadlineNanos, long logOffset) {
      return new Attempt(plan, child, deadlineNanos, List.of(), Map.of(), true, logOffset);
    }

    static Attempt files(
        LaunchPlan plan,
        long deadlineNanos,
        List<FileSubscriptions.Subscription> subscriptions,
        Map<String, Long> failuresBefore,
        boolean restarted) {
      return new Attempt(plan, null, deadlineNanos, subscriptions, failuresBefore, restarted, 0);
    }
  }

  /** Envoy's words when a child finds the INITIALIZING flag of an earlier child still set. */
  static final String STILL_INITIALIZING = "previous envoy process is still initializing";

  private final ScheduledExecutorService loop;
  private final ProcessControl processes;
  private final IntFunction<EnvoyAdmin> adminOnPort;
  private final ProcessTable table;
  private final LongSupplier nanoTime;
  private final Random random;
  private final Backoff restartBackoff =
      new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(60), 0.2);
  private final StatusBoard status;

  private AgentSettings settings;
  private Phase phase = Phase.IDLE;
  private final List<EnvoyProcess> epochs = new ArrayList<>();

  /** Failed new epochs told to stop, with when they get SIGKILL if still alive. */
  private final Map<EnvoyProcess, Long> abandoned = new java.util.HashMap<>();

  private long nextBinaryCheckNanos;
  private String binaryChangeSeen;
  private LaunchPlan applied;
  private AppliedConfig appliedRecord;
  private RouteSnapshot desired;
  private RouteSnapshot knownGood;
  private long desiredFirstNanos;
  private long desiredLastNanos;
  private String refusedDigest;
  private Attempt attempt;
  private long nextRestartNanos;
  private long nextStartNanos;
  private long servingSinceNanos;
  private int hotRestartFailures;
  private int startFailures;
  private String coldReason;
  private long coldDeadlineNanos;

  /** Why the hot-restart INITIALIZING flag may be stuck (only epoch 0 clears it); null when not. */
  private String stuckInitializingFlag;

  private InotifyBudget lastBudgetChecked;
  private long nextBudgetCheckNanos;

  Supervisor(
      AgentSettings settings,
      ScheduledExecutorService loop,
      ProcessControl processes,
      IntFunction<EnvoyAdmin> adminOnPort,
      LongSupplier nanoTime,
      Random random,
      StatusBoard status) {
    this.settings = settings;
    this.loop = loop;
    this.processes = processes;
    this.adminOnPort = adminOnPort;
    this.table = new ProcessTable(settings.stateDir().resolve("envoy-processes.json"));
    this.nanoTime = nanoTime;
    this.random = random;
    this.status = status;
  }

  /** Adopts Envoy processes a previous agent left running, then starts ticking. */
  void start() {
    loop.execute(this::adopt);
    loop.scheduleWithFixedDelay(
        this::safeTick, TICK.toMillis(), TICK.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** A new snapshot to serve; the newest one wins. */
  void submit(RouteSnapshot snapshot) {
    loop.execute(
        () -> {
          long now = nanoTime.getAsLong();
          if (desired == null) {
            desiredFirstNanos = now;
          }
          desired = snapshot;
          desiredLastNanos = now;
        });
  }

  /**
   * The last applied snapshot, read back from the history with its checksum, to serve at once when
   * no Envoy is running (e.g. the control plane is down): it was validated when it was applied, so
   * it starts without waiting for the debounce, another validation or the next tick. A newer
   * snapshot submitted before it is not replaced.
   *
   * @return done once the supervisor has acted on it (started Envoy, or found no need to)
   */
  CompletableFuture<Void> submitKnownGood(RouteSnapshot snapshot) {
    CompletableFuture<Void> handled = new CompletableFuture<>();
    loop.execute(
        () -> {
          try {
            long longAgo = nanoTime.getAsLong() - Duration.ofHours(1).toNanos();
            if (desired == null) {
              desired = snapshot;
              knownGood = snapshot;
              desiredFirstNanos = longAgo;
              desiredLastNanos = longAgo;
              safeTick();
            }
          } finally {
            handled.complete(null);
          }
        });
    return handled;
  }

  /** New agent settings (SIGHUP); they take effect with the next apply. */
  void updateSettings(AgentSettings next) {
    loop.execute(
        () -> {
          settings = next;
          refusedDigest = null; // a reload is the operator asking to try again
          if (applied != null && desired == null) {
            submit(applied.snapshot());
          }
        });
  }

  private void adopt() {
    for (EnvoyProcess process : table.load()) {
      if (processes.isAlive(process)) {
        epochs.add(process);
      }
    }
    epochs.sort(Comparator.comparingInt(EnvoyProcess::epoch));
    if (!epochs.isEmpty()) {
      EnvoyProcess newest = newest();
      LOG.info(
          "adopted running Envoy epochs={} serving_epoch={} pid={}",
          epochNumbers(),
          newest.epoch(),
          newest.pid());
      phase = Phase.SERVING;
      servingSinceNanos = nanoTime.getAsLong();
    }
    saveTable();
    publish();
  }

  private void safeTick() {
    try {
      tick();
    } catch (RuntimeException e) {
      // A bug must not stop the loop that keeps Envoy alive; report it and go on.
      LOG.error("supervisor tick failed phase={}", phase, e);
    }
  }

  private void tick() {
    long now = nanoTime.getAsLong();
    reapExitedEpochs();
    killAbandonedChildren(now);
    switch (phase) {
      case IDLE -> maybeApply(now);
      case STARTING, HOT_RESTARTING -> checkNewEpoch(now);
      case SERVING -> {
        if (epochs.isEmpty()) {
          envoyGone(now);
          break;
        }
        if (attempt != null) {
          checkWrittenFiles(now);
        }
        // Once an update is confirmed the next one goes out in the same tick, not one tick later.
        if (attempt == null) {
          if (startFailures > 0 && now - servingSinceNanos > STABLE_AFTER.toNanos()) {
            startFailures = 0;
          }
          noticeNewBinary(now);
          maybeApply(now);
        }
      }
      case COLD_DRAINING -> {
        if (now >= coldDeadlineNanos) {
          epochs.forEach(p -> processes.signal(p, "TERM"));
          phase = Phase.COLD_STOPPING;
          coldDeadlineNanos = now + Duration.ofSeconds(settings.envoy().stopTimeoutS()).toNanos();
        }
      }
      case COLD_STOPPING -> {
        if (epochs.isEmpty()) {
          launch(attempt.plan(), 0, now);
        } else if (now >= coldDeadlineNanos) {
          epochs.forEach(p -> processes.signal(p, "KILL"));
        }
      }
      case BACKOFF -> {
        if (now >= nextStartNanos) {
          LaunchPlan plan = applied != null ? applied : planFor(desired).orElse(null);
          if (plan != null) {
            launch(plan, 0, now);
          } else {
            phase = Phase.IDLE;
          }
        }
      }
      case STOPPED -> {}
      default -> throw new IllegalStateException("unknown phase " + phase);
    }
    publish();
  }

  private void reapExitedEpochs() {
    List<EnvoyProcess> gone = epochs.stream().filter(p -> !processes.isAlive(p)).toList();
    if (gone.isEmpty()) {
      return;
    }
    int newestEpoch = epochs.isEmpty() ? -1 : newest().epoch();
    epochs.removeAll(gone);
    for (EnvoyProcess process : gone) {
      boolean child =
          attempt != null && attempt.child() != null && attempt.child().pid() == process.pid();
      if (process.epoch() < newestEpoch && !child) {
        LOG.info(
            "Envoy epoch exited after hand-over epoch={} pid={}", process.epoch(), process.pid());
      } else if (phase != Phase.COLD_STOPPING && phase != Phase.STOPPED && !child) {
        LOG.warn(
            "Envoy exited unexpectedly epoch={} pid={} log={}",
            process.epoch(),
            process.pid(),
            envoyLog());
      }
    }
    saveTable();
  }

  private void killAbandonedChildren(long now) {
    abandoned
        .entrySet()
        .removeIf(
            entry -> {
              if (!processes.isAlive(entry.getKey())) {
                return true;
              }
              if (now < entry.getValue()) {
                return false;
              }
              LOG.warn(
                  "failed epoch ignored SIGTERM; sending SIGKILL epoch={} pid={}",
                  entry.getKey().epoch(),
                  entry.getKey().pid());
              processes.signal(entry.getKey(), "KILL");
              return true;
            });
  }

  /**
   * A package upgrade replaces Envoy's binary without telling the agent: every few seconds the
   * serving epoch's launch digest (which covers the binary file) is recomputed for the applied
   * files, and a difference re-applies them, which restarts Envoy (hot, or cold if the new binary
   * cannot hot restart from the old one). Each new digest is acted on once.
   */
  private void noticeNewBinary(long now) {
    if (applied == null || desired != null || now < nextBinaryCheckNanos) {
      return;
    }
    nextBinaryCheckNanos = now + BINARY_CHECK.toNanos();
    String digest = LaunchPlan.launchDigest(applied.files(), LaunchPlan.command(settings, 0));
    if (!digest.equals(newest().launchDigest()) && !digest.equals(binaryChangeSeen)) {
      binaryChangeSeen = digest;
      LOG.info(
          "Envoy binary or flags changed on disk binary={}; re-applying version={}",
          settings.envoy().binary(),
          applied.snapshot().getVersion());
      desired = applied.snapshot();
      desiredFirstNanos = now;
      desiredLastNanos = now;
    }
  }

  private void envoyGone(long now) {
    startFailures++;
    status.crash();
    Duration wait = restartBackoff.delay(startFailures, random);
    LOG.warn(
        "no Envoy is running; starting epoch 0 from the last applied config attempt={} in_ms={}",
        startFailures,
        wait.toMillis());
    status.error(
        "Envoy exited unexpectedly; restart attempt "
            + startFailures
            + " in "
            + wait.toMillis()
            + " ms");
    phase = Phase.BACKOFF;
    nextStartNanos = now + wait.toNanos();
  }

  private void maybeApply(long now) {
    if (desired == null) {
      return;
    }
    int debounce = settings.restart().debounceMs();
    boolean quiet = now - desiredLastNanos >= Duration.ofMillis(debounce).toNanos();
    boolean waitedEnough = now - desiredFirstNanos >= Duration.ofMillis(4L * debounce).toNanos();
    if (!quiet && !waitedEnough) {
      return;
    }
    Optional<LaunchPlan> maybePlan = planFor(desired);
    if (maybePlan.isEmpty()) {
      desired = null;
      return;
    }
    LaunchPlan plan = maybePlan.get();
    String digest = refusalKey(plan);
    if (digest.equals(refusedDigest)) {
      LOG.info(
          "version={} was refused before; not retried until a new version or SIGHUP",
          plan.snapshot().getVersion());
      desired = null;
      return;
    }
    if (epochs.isEmpty()) {
      boolean lastKnownGood = plan.snapshot().equals(knownGood);
      if (lastKnownGood) {
        LOG.info(
            "starting Envoy from the last known good routes version={} (validated when first applied)",
            plan.snapshot().getVersion());
      }
      if (lastKnownGood || validate(plan, digest)) {
        desired = null;
        launch(plan, 0, now);
      }
      return;
    }
    EnvoyProcess serving = newest();
    if (plan.launchDigest().equals(serving.launchDigest())) {
      desired = null;
      writeFiles(plan, now);
      return;
    }
    if (now < nextRestartNanos) {
      return; // rate limit: the tick comes back, and the newest snapshot by then wins
    }
    if (!abandoned.isEmpty()) {
      return; // a failed child is still stopping: the same epoch number cannot start beside it
    }
    if (!validate(plan, digest)) {
      return;
    }
    desired = null;
    String coldBecause = coldRestartReason(serving);
    if (coldBecause != null) {
      coldRestart(plan, coldBecause);
    } else {
      launch(plan, serving.epoch() + 1, now);
    }
  }

  private Optional<LaunchPlan> planFor(RouteSnapshot snapshot) {
    if (snapshot == null) {
      return Optional.empty();
    }
    if (snapshot == knownGood && epochs.isEmpty()) {
      Optional<LaunchPlan> fromDisk = planFromAppliedFiles(snapshot);
      if (fromDisk.isPresent()) {
        return withinInotifyBudget(fromDisk.get());
      }
    }
    try {
      return withinInotifyBudget(LaunchPlan.of(snapshot, settings));
    } catch (InvalidInputException e) {
      LOG.warn(
          "snapshot refused version={} problems={}", snapshot.getVersion(), e.problems().size());
      e.problems()
          .forEach(
              p ->
                  LOG.warn("snapshot refused version={} problem=\"{}\"", snapshot.getVersion(), p));
      status.rejected(
          snapshot.getVersion(),
          e.getMessage(),
          e.problems().stream().map(dev.envoyagent.model.Problem::toString).toList());
      return Optional.empty();
    }
  }

  /**
   * The plan, unless its watched files need more inotify instances than the host leaves for Envoy's
   * user: Envoy would abort on the first subscription it cannot watch. The limit is read again when
   * the number of files changes, and at most once a minute otherwise.
   */
  private Optional<LaunchPlan> withinInotifyBudget(LaunchPlan plan) {
    InotifyBudget budget = new InotifyBudget(plan.files().watched().size());
    long now = nanoTime.getAsLong();
    if (budget.subscriptions() == 0
        || (budget.equals(lastBudgetChecked) && now < nextBudgetCheckNanos)) {
      return Optional.of(plan);
    }
    Optional<String> shortfall =
        processes.inotifyLimit(List.copyOf(epochs)).flatMap(budget::shortfall);
    if (shortfall.isPresent()) {
      String version = plan.snapshot().getVersion();
      LOG.warn("snapshot refused version={} reason=\"{}\"", version, shortfall.get());
      status.rejected(version, shortfall.get(), List.of("envoy.delivery: " + shortfall.get()));
      lastBudgetChecked = null;
      return Optional.empty();
    }
    lastBudgetChecked = budget;
    nextBudgetCheckNanos = now + Duration.ofMinutes(1).toNanos();
    return Optional.of(plan);
  }

  /**
   * The last known good's plan from the files it left in the config directory, so that Envoy starts
   * without waiting for a render in this fresh JVM; empty (and rendered as usual) when the record
   * of those files is missing, unreadable or for other files, settings or agent version.
   */
  private Optional<LaunchPlan> planFromAppliedFiles(RouteSnapshot snapshot) {
    Path recordFile = LaunchPlan.appliedRecordFile(settings);
    try {
      Optional<AppliedConfig> record = AppliedConfig.read(recordFile);
      if (record.isEmpty()) {
        return Optional.empty();
      }
      Optional<LaunchPlan> plan = LaunchPlan.fromAppliedFiles(snapshot, settings, record.get());
      if (plan.isPresent()) {
        LOG.info(
            "the config dir still holds the last known good's files version={} dir={}",
            snapshot.getVersion(),
            settings.envoy().configDir());
      } else {
        LOG.info(
            "the config dir holds other files than the last known good's (version={}, or settings or agent "
                + "changed since); rendering them again",
            record.get().version());
      }
      return plan;
    } catch (IOException e) {
      LOG.warn(
          "cannot use the record of the applied config file={} reason={}; rendering the last known good again",
          recordFile,
          e.getMessage());
      return Optional.empty();
    }
  }

  /**
   * Validates the candidate with Envoy itself, after checking the binary is a release this agent
   * supports; a refusal is remembered so it is not retried.
   */
  private boolean validate(LaunchPlan plan, String digest) {
    Optional<String> unsupported = unsupportedEnvoy(processes, settings.envoy().binary());
    if (unsupported.isPresent()) {
      LOG.error(
          "not starting Envoy version={}: {}", plan.snapshot().getVersion(), unsupported.get());
      status.error(unsupported.get());
      refusedDigest = digest;
      desired = null;
      return false;
    }
    Path candidateDir = LaunchPlan.candidateDir(settings);
    try {
      new ConfigWriter(candidateDir).write(plan.candidate(candidateDir));
    } catch (IOException e) {
      LOG.warn("cannot write candidate config dir={} reason={}", candidateDir, e.toString());
      status.error("cannot write candidate config: " + e.getMessage());
      return false;
    }
    ProcessControl.Validation validation =
        processes.validate(
            settings.envoy().binary(), candidateDir.resolve("bootstrap.json"), VALIDATE_TIMEOUT);
    if (!validation.ok()) {
      String reason = lastLine(validation.output());
      LOG.warn(
          "Envoy refused config version={} reason=\"{}\"", plan.snapshot().getVersion(), reason);
      status.rejected(plan.snapshot().getVersion(), "Envoy refused the config: " + reason);
      refusedDigest = digest;
      desired = null;
      return false;
    }
    return true;
  }

  /**
   * Why {@code binary} must not run, when {@code --version} names a release older than {@link
   * EnvoyVersion#MINIMUM}; empty when it is supported or says no version (validation then has the
   * last word).
   */
  static Optional<String> unsupportedEnvoy(ProcessControl processes, Path binary) {
    Optional<String> output = processes.version(binary, Duration.ofSeconds(30));
    Optional<EnvoyVersion> version = output.flatMap(EnvoyVersion::parse);
    if (version.isEmpty()) {
      LOG.debug(
          "no Envoy release in the output of {} --version: {}",
          binary,
          output.orElse("(did not run)"));
      return Optional.empty();
    }
    if (version.get().supported()) {
      return Optional.empty();
    }
    return Optional.of(
        "Envoy "
            + version.get()
            + " ("
            + binary
            + ") is older than "
            + EnvoyVersion.MINIMUM
            + ", the oldest release this agent supports; install Envoy "
            + EnvoyVersion.MINIMUM
            + " or newer");
  }

  /**
   * What a refusal is remembered by, so the same snapshot is not retried in a loop. The version is
   * part of it: a source that publishes a new version asks for a new attempt even with the same
   * content (Envoy's verdict may have depended on something that changed since, e.g. its binary's
   * environment or a validation that timed out).
   */
  private static String refusalKey(LaunchPlan plan) {
    return plan.snapshot().getVersion() + "/" + plan.files().digest() + "/" + plan.launchDigest();
  }

  private String coldRestartReason(EnvoyProcess serving) {
    var envoy = settings.envoy();
    if (serving.baseId() != envoy.baseId()) {
      return "base id changes from " + serving.baseId() + " to " + envoy.baseId();
    }
    if (serving.concurrency() != envoy.concurrency()) {
      return "concurrency changes from " + serving.concurrency() + " to " + envoy.concurrency();
    }
    if (stuckInitializingFlag != null) {
      return stuckInitializingFlag;
    }
    if (hotRestartFailures >= HOT_RESTART_FAILURES_BEFORE_COLD) {
      return hotRestartFailures + " hot restarts in a row failed";
    }
    Optional<String> binaryVersion =
        processes.hotRestartVersion(envoy.binary(), Duration.ofSeconds(30));
    // An unknown version (an Envoy that did not report one) is not a reason: a mismatch still shows
    // as failed hot restarts, which end in a cold restart.
    if (binaryVersion.isPresent()
        && !serving.hotRestartVersion().isEmpty()
        && !binaryVersion.get().equals(serving.hotRestartVersion())) {
      return "hot-restart version changes from "
          + serving.hotRestartVersion()
          + " to "
          + binaryVersion.get();
    }
    return null;
  }

  private void coldRestart(LaunchPlan plan, String reason) {
    LOG.warn(
        "planned cold restart reason=\"{}\" drain_s={}", reason, settings.envoy().drainTimeS());
    status.restart("cold: " + reason);
    EnvoyAdmin admin = admin();
    tryPost(admin, "/healthcheck/fail");
    tryPost(admin, "/drain_listeners?graceful");
    attempt = Attempt.newEpoch(plan, null, 0, 0);
    coldReason = reason;
    phase = Phase.COLD_DRAINING;
    // Not the tick's "now": validating and asking the binary's version took seconds since then,
    // and the drain must last its full time.
    coldDeadlineNanos =
        nanoTime.getAsLong() + Duration.ofSeconds(settings.envoy().drainTimeS()).toNanos();
  }

  private void launch(LaunchPlan plan, int epoch, long now) {
    // Epoch 0 has no parent to be compatible with: its hot-restart version is read from its own
    // /server_info once it is LIVE, instead of running the binary once more before it starts.
    String hotRestartVersion =
        epoch == 0
            ? ""
            : processes
                .hotRestartVersion(settings.envoy().binary(), Duration.ofSeconds(30))
                .orElse("");
    try {
      new ConfigWriter(settings.envoy().configDir()).write(plan.files());
      long logOffset = envoyLogSize();
      EnvoyProcess child =
          processes.launch(
              LaunchPlan.command(settings, epoch),
              envoyLog(),
              plan.launchDigest(),
              hotRestartVersion);
      epochs.add(child);
      saveTable();
      if (epoch == 0) {
        stuckInitializingFlag = null; // epoch 0 creates the shared memory anew
      }
      long timeout = Duration.ofSeconds(settings.envoy().readyTimeoutS()).toNanos();
      attempt =
          Attempt.newEpoch(
              plan, child, nanoTime.getAsLong() + timeout, logOffset); // launching took a while
      phase = epoch == 0 ? Phase.STARTING : Phase.HOT_RESTARTING;
      LOG.info(
          "started Envoy epoch={} pid={} version={}{}",
          epoch,
          child.pid(),
          plan.snapshot().getVersion(),
          coldReason != null ? " after cold restart" : "");
      if (epoch > 0) {
        status.restart("hot");
      }
    } catch (IOException e) {
      LOG.warn("cannot start Envoy epoch={} reason={}", epoch, e.toString());
      status.error("cannot start Envoy: " + e.getMessage());
      attempt = null;
      failedStart(now);
    }
  }

  private void checkNewEpoch(long now) {
    EnvoyProcess child = attempt.child();
    if (!processes.isAlive(child)) {
      if (child.epoch() > 0 && envoyLogSince(attempt.logOffset()).contains(STILL_INITIALIZING)) {
        stuckInitializingFlag =
            "epoch " + child.epoch() + " exited with \"" + STILL_INITIALIZING + "\"";
      }
      newEpochFailed("epoch " + child.epoch() + " exited before it was LIVE", now);
      return;
    }
    try {
      EnvoyAdmin.ServerInfo info = admin().serverInfo();
      if (info.restartEpoch() == child.epoch() && info.live()) {
        newEpochLive(now, info);
        return;
      }
    } catch (IOException e) {
      // Not answering yet: the new epoch is still initialising, or the parent just closed its
      // admin.
    }
    if (now >= attempt.deadlineNanos()) {
      // SIGKILL, not SIGTERM: a child that shuts down before it terminated its parent sends the
      // parent a terminate request, and the serving parent shuts down with it. SIGKILL leaves the
      // child's INITIALIZING flag set in shared memory, so the next restart must be a cold one.
      processes.signal(child, "KILL");
      abandoned.put(child, now + Duration.ofSeconds(settings.envoy().stopTimeoutS()).toNanos());
      if (child.epoch() > 0) {
        stuckInitializingFlag =
            "epoch "
                + child.epoch()
                + " was killed before it was LIVE, which leaves Envoy's "
                + "hot-restart INITIALIZING flag set";
      }
      newEpochFailed(
          "epoch "
              + child.epoch()
              + " was not LIVE within "
              + settings.envoy().readyTimeoutS()
              + " s; killed",
          now);
    }
  }

  private void newEpochLive(long now, EnvoyAdmin.ServerInfo info) {
    EnvoyProcess child = attempt.child();
    if (child.hotRestartVersion().isEmpty() && !info.hotRestartVersion().isEmpty()) {
      EnvoyProcess known =
          new EnvoyProcess(
              child.epoch(),
              child.pid(),
              child.startTicks(),
              child.launchDigest(),
              info.hotRestartVersion(),
              child.baseId(),
              child.concurrency(),
              child.launchedAtMs());
      epochs.set(epochs.indexOf(child), known);
      saveTable();
    }
    LOG.info(
        "Envoy LIVE epoch={} pid={} version={} live_epochs={}",
        child.epoch(),
        child.pid(),
        attempt.plan().snapshot().getVersion(),
        epochNumbers());
    if (phase == Phase.HOT_RESTARTING) {
      hotRestartFailures = 0;
    }
    nextRestartNanos =
        now
            + Duration.ofMillis(settings.restart().minIntervalMs()).toNanos()
            + (long)
                (random.nextDouble()
                    * 0.2
                    * Duration.ofMillis(settings.restart().minIntervalMs()).toNanos());
    LaunchPlan plan = attempt.plan();
    coldReason = null;
    phase = Phase.SERVING;
    servingSinceNanos = now;
    if (plan.files().watched().isEmpty()) {
      markApplied(plan, true);
      attempt = null;
      return;
    }
    // LIVE says Envoy initialised, not that it accepted every watched file: confirm each one.
    attempt =
        Attempt.files(
            plan,
            now + VERIFY_TIMEOUT.toNanos(),
            subscriptions(plan, plan.files().watched().keySet()),
            Map.of(),
            true);
    checkWrittenFiles(now);
  }

  private void newEpochFailed(String why, long now) {
    LaunchPlan plan = attempt.plan();
    epochs.remove(attempt.child());
    saveTable();
    attempt = null;
    LOG.warn(
        "new Envoy epoch failed reason=\"{}\" version={} log={}",
        why,
        plan.snapshot().getVersion(),
        envoyLog());
    status.error(why);
    if (phase == Phase.HOT_RESTARTING && !epochs.isEmpty()) {
      hotRestartFailures++;
      status.failedRestart();
      restoreAppliedFiles();
      Duration wait = restartBackoff.delay(hotRestartFailures, random);
      nextRestartNanos = now + wait.toNanos();
      phase = Phase.SERVING;
      if (desired == null) {
        desired = plan.snapshot();
        desiredFirstNanos = now;
        desiredLastNanos = now;
      }
      LOG.info(
          "parent keeps serving; hot restart retried in_ms={} failures_in_a_row={}",
          wait.toMillis(),
          hotRestartFailures);
    } else {
      failedStart(now);
    }
  }

  private void failedStart(long now) {
    startFailures++;
    status.failedRestart();
    Duration wait = restartBackoff.delay(startFailures, random);
    nextStartNanos = now + wait.toNanos();
    phase = epochs.isEmpty() ? Phase.BACKOFF : Phase.SERVING;
    LOG.warn("Envoy start failed; retrying attempt={} in_ms={}", startFailures, wait.toMillis());
  }

  private void writeFiles(LaunchPlan plan, long now) {
    List<FileSubscriptions.Subscription> changing = subscriptions(plan, changedFiles(plan));
    Map<String, Long> failuresBefore = failureCounters(changing);
    try {
      var outcome = new ConfigWriter(settings.envoy().configDir()).write(plan.files());
      if (!outcome.changedAnything()) {
        markApplied(plan, false);
        return;
      }
      LOG.info(
          "wrote watched files version={} written={} removed={}",
          plan.snapshot().getVersion(),
          outcome.written().size(),
          outcome.removed().size());
      List<FileSubscriptions.Subscription> written =
          subscriptions(
              plan,
              outcome.written().stream().filter(plan.files().watched()::containsKey).toList());
      attempt = Attempt.files(plan, now + VERIFY_TIMEOUT.toNanos(), written, failuresBefore, false);
    } catch (IOException e) {
      LOG.warn("cannot write config dir={} reason={}", settings.envoy().configDir(), e.toString());
      status.error("cannot write Envoy config: " + e.getMessage());
      restoreAppliedFiles();
    }
  }

  /**
   * Watched files whose bytes differ from the applied plan's: the ones a write is about to change.
   */
  private List<String> changedFiles(LaunchPlan plan) {
    SortedMap<String, byte[]> before =
        applied == null ? Collections.emptySortedMap() : applied.files().watched();
    return plan.files().watched().entrySet().stream()
        .filter(file -> !Arrays.equals(file.getValue(), before.get(file.getKey())))
        .map(Map.Entry::getKey)
        .toList();
  }

  private static List<FileSubscriptions.Subscription> subscriptions(
      LaunchPlan plan, Collection<String> files) {
    return files.stream()
        .map(
            file ->
                new FileSubscriptions.Subscription(
                    file,
                    RenderedConfig.subscriptionStatPrefix(file),
                    plan.expectedVersions().getOrDefault(file, "")))
        .toList();
  }

  /**
   * The failure counters of these subscriptions now; empty (rejections then show only as a timeout)
   * if unknown.
   */
  private Map<String, Long> failureCounters(List<FileSubscriptions.Subscription> subscriptions) {
    if (subscriptions.isEmpty()) {
      return Map.of();
    }
    try {
      return FileSubscriptions.failures(
          subscriptions, admin().stats(FileSubscriptions.statsFilter(subscriptions)));
    } catch (IOException e) {
      LOG.debug("admin not answering before a write: {}", e.toString());
      return Map.of();
    }
  }

  /** Confirms, from its subscription stats, that Envoy took up every watched file just written. */
  private void checkWrittenFiles(long now) {
    List<FileSubscriptions.Subscription> subscriptions = attempt.subscriptions();
    try {
      Map<String, String> stats =
          subscriptions.isEmpty()
              ? Map.of()
              : admin().stats(FileSubscriptions.statsFilter(subscriptions));
      FileSubscriptions.Progress progress =
          FileSubscriptions.progress(subscriptions, attempt.failuresBefore(), stats);
      if (progress.confirmed()) {
        markApplied(attempt.plan(), attempt.restarted());
        attempt = null;
        return;
      }
      if (!progress.rejected().isEmpty()) {
        refuseWritten(rejectionReasons(progress.rejected()));
        return;
      }
      if (now >= attempt.deadlineNanos()) {
        refuseWritten(
            List.of(
                "Envoy did not take up "
                    + describe(progress.pending())
                    + " within "
                    + VERIFY_TIMEOUT.toSeconds()
                    + " s (their subscriptions' version_text did not change; see "
                    + envoyLog()
                    + ")"));
      }
    } catch (IOException e) {
      LOG.debug("admin not answering while confirming an update: {}", e.toString());
      if (now >= attempt.deadlineNanos()) {
        refuseWritten(
            List.of(
                "Envoy's admin did not answer within "
                    + VERIFY_TIMEOUT.toSeconds()
                    + " s to confirm the update: "
                    + e.getMessage()));
      }
    }
  }

  /**
   * What Envoy refused and why, where it says: the config dump's error_state for listeners (and
   * clusters); for routes and endpoints Envoy's reason is only in its log.
   */
  private List<String> rejectionReasons(List<String> rejectedFiles) {
    List<String> reasons = new ArrayList<>();
    reasons.add(
        "Envoy rejected " + describe(rejectedFiles) + " (update_rejected or update_failure rose)");
    try {
      ConfigDumpErrors.fromConfigDump(admin().configDump())
          .forEach((resource, details) -> reasons.add(resource + ": " + details));
    } catch (IOException e) {
      LOG.debug("no config dump for the rejection's reasons: {}", e.toString());
    }
    if (reasons.size() == 1) {
      reasons.add("Envoy gives the reason in its log: " + envoyLog());
    }
    return reasons;
  }

  private static String describe(List<String> files) {
    int shown = Math.min(files.size(), 5);
    return String.join(", ", files.subList(0, shown))
        + (files.size() > shown ? " and " + (files.size() - shown) + " more" : "");
  }

  private void refuseWritten(List<String> reasons) {
    LaunchPlan plan = attempt.plan();
    attempt = null;
    refusedDigest = refusalKey(plan);
    String summary = String.join("; ", reasons);
    LOG.warn(
        "update refused version={} reason=\"{}\"; previous files restored",
        plan.snapshot().getVersion(),
        summary);
    status.rejected(plan.snapshot().getVersion(), summary, reasons);
    restoreAppliedFiles();
  }

  private void restoreAppliedFiles() {
    if (applied == null) {
      return;
    }
    try {
      new ConfigWriter(settings.envoy().configDir()).write(applied.files());
    } catch (IOException e) {
      LOG.warn(
          "cannot restore previous config dir={} reason={}",
          settings.envoy().configDir(),
          e.toString());
    }
  }

  private void markApplied(LaunchPlan plan, boolean restarted) {
    boolean changed = applied == null || !applied.files().digest().equals(plan.files().digest());
    applied = plan;
    status.applied(plan.snapshot(), restarted);
    recordAppliedFiles(plan);
    if (changed) {
      LOG.info(
          "applied version={} restart={}", plan.snapshot().getVersion(), restarted ? "yes" : "no");
      try {
        new VersionHistory(settings.historyDir(), settings.historyKeep()).record(plan.snapshot());
      } catch (IOException e) {
        LOG.warn("cannot record history dir={} reason={}", settings.historyDir(), e.toString());
      }
    }
  }

  /**
   * Kept current (also when only settings or the agent changed) for the next start from these
   * files.
   */
  private void recordAppliedFiles(LaunchPlan plan) {
    AppliedConfig record = plan.appliedRecord();
    if (record.equals(appliedRecord)) {
      return;
    }
    Path file = LaunchPlan.appliedRecordFile(settings);
    try {
      record.write(file);
      appliedRecord = record;
    } catch (IOException e) {
      LOG.warn("cannot record the applied config file={} reason={}", file, e.toString());
    }
  }

  /** Graceful stop: fail health checks, drain, then stop every epoch. Blocks the caller. */
  void stopEnvoy(Duration drain) throws InterruptedException {
    runOnLoop(
        () -> {
          phase = Phase.STOPPED;
          EnvoyAdmin admin = admin();
          if (!epochs.isEmpty()) {
            tryPost(admin, "/healthcheck/fail");
            tryPost(admin, "/drain_listeners?graceful");
          }
        });
    List<EnvoyProcess> running = callOnLoop(() -> List.copyOf(epochs));
    if (running.isEmpty()) {
      return;
    }
    LOG.info("draining Envoy before stop drain_s={} epochs={}", drain.toSeconds(), running.size());
    waitUntil(() -> running.stream().noneMatch(processes::isAlive), drain);
    running.forEach(p -> processes.signal(p, "TERM"));
    Duration stopTimeout = Duration.ofSeconds(settings.envoy().stopTimeoutS());
    if (!waitUntil(() -> running.stream().noneMatch(processes::isAlive), stopTimeout)) {
      LOG.warn(
          "Envoy did not exit within {} s of SIGTERM; sending SIGKILL", stopTimeout.toSeconds());
      running.forEach(p -> processes.signal(p, "KILL"));
      waitUntil(() -> running.stream().noneMatch(processes::isAlive), Duration.ofSeconds(5));
    }
    runOnLoop(
        () -> {
          epochs.clear();
          saveTable();
        });
    LOG.info("Envoy stopped");
  }

  /** Forwards a signal (USR1: reopen logs) to every live epoch. */
  void signalEnvoy(String signal) {
    loop.execute(() -> epochs.forEach(p -> processes.signal(p, signal)));
  }

  private static boolean waitUntil(java.util.function.BooleanSupplier done, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (done.getAsBoolean()) {
        return true;
      }
      Thread.sleep(100);
    }
    return done.getAsBoolean();
  }

  private void runOnLoop(Runnable action) throws InterruptedException {
    callOnLoop(
        () -> {
          action.run();
          return null;
        });
  }

  private <T> T callOnLoop(java.util.concurrent.Callable<T> action) throws InterruptedException {
    try {
      return loop.submit(action).get(30, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("supervisor loop did not answer", e);
    }
  }

  private EnvoyAdmin admin() {
    return adminOnPort.apply(settings.envoy().adminPort());
  }

  private static void tryPost(EnvoyAdmin admin, String path) {
    try {
      if (!admin.post(path)) {
        LOG.warn("Envoy admin refused POST {}", path);
      }
    } catch (IOException e) {
      LOG.warn("Envoy admin unreachable for POST {} reason={}", path, e.toString());
    }
  }

  private EnvoyProcess newest() {
    return epochs.stream().max(Comparator.comparingInt(EnvoyProcess::epoch)).orElseThrow();
  }

  private List<Integer> epochNumbers() {
    return epochs.stream().map(EnvoyProcess::epoch).sorted().toList();
  }

  private Path envoyLog() {
    return settings.stateDir().resolve("envoy.log");
  }

  private long envoyLogSize() {
    try {
      return java.nio.file.Files.size(envoyLog());
    } catch (IOException e) {
      return 0;
    }
  }

  /** What Envoy logged since {@code offset} (at most the last 64 KiB of it). */
  private String envoyLogSince(long offset) {
    try (var file = java.nio.channels.FileChannel.open(envoyLog())) {
      long from = Math.max(offset, file.size() - 65536);
      java.nio.ByteBuffer buffer =
          java.nio.ByteBuffer.allocate((int) Math.max(0, file.size() - from));
      file.read(buffer, from);
      return new String(
          buffer.array(), 0, buffer.position(), java.nio.charset.StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  private void saveTable() {
    try {
      table.save(List.copyOf(epochs));
    } catch (IOException e) {
      LOG.warn("cannot save process table file={} reason={}", table.file(), e.toString());
    }
  }

  private void publish() {
    status.supervisor(
        phase.name(),
        List.copyOf(epochs),
        applied == null ? "" : applied.snapshot().getVersion(),
        attempt == null ? "" : attempt.plan().snapshot().getVersion());
  }

  private static String lastLine(String output) {
    String[] lines = output.strip().split("\n");
    return Objects.requireNonNullElse(lines[lines.length - 1], "").strip();
  }
}
