package dev.envoyagent.agent;

import com.codahale.metrics.Counter;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.envoyagent.api.v1.RouteSnapshot;
import dev.envoyagent.api.v1.Service;
import dev.envoyagent.envoy.EnvoyProcess;
import dev.envoyagent.metrics.AgentMetrics;
import dev.envoyagent.support.AtomicFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's current {@link AgentStatus} and the events that change it, from any thread. Each
 * event also moves the matching metric, and every change is written to {@code
 * state_dir/status.json}, so an operator (or a test) can see what the agent is doing without asking
 * it.
 */
public final class StatusBoard {

  private static final Logger LOG = LoggerFactory.getLogger(StatusBoard.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  static final int HISTORY = 20;

  /**
   * Told when a version is applied or refused: the control-plane client ACKs and NACKs from this.
   */
  public interface Listener {
    void applied(String version);

    /** {@code reasons}: every problem, one {@code path: reason} each when known. */
    void refused(String version, List<String> reasons);
  }

  private final Path file;
  private final LongSupplier clockMs;
  private final AgentMetrics metrics;
  private final List<Listener> listeners = new CopyOnWriteArrayList<>();
  private final long startedAtMs;

  private String phase = "IDLE";
  private List<EnvoyProcess> epochs = List.of();
  private String appliedVersion = "";
  private String pendingVersion = "";
  private String newestVersion = "";
  private long newestAtMs;
  private long appliedCount;
  private long hotRestarts;
  private long coldRestarts;
  private long failedRestarts;
  private long envoyCrashes;
  private long rejectedCount;
  private long reloads;
  private String lastReload = "";
  private String lastError = "";
  private long lastErrorAtMs;
  private String lastRejected = "";
  private String sourceError = "";
  private String controlPlaneTarget = "";
  private boolean controlPlaneConnected;
  private final Deque<AgentStatus.Applied> history = new ArrayDeque<>();
  private final Deque<AgentStatus.Restart> restarts = new ArrayDeque<>();
  private final Map<String, Long> receivedAtMs = new LinkedHashMap<>();
  private Map<String, Service> appliedServices = Map.of();
  private volatile long lastTickAtMs;
  private AgentStatus written;

  public StatusBoard(Path file, LongSupplier clockMs) {
    this(file, clockMs, new AgentMetrics());
  }

  public StatusBoard(Path file, LongSupplier clockMs, AgentMetrics metrics) {
    this.file = file;
    this.clockMs = clockMs;
    this.metrics = metrics;
    this.startedAtMs = clockMs.getAsLong();
    metrics.counter("config", "reloads");
    metrics.counter("config", "reloads_refused");
    for (String counter : List.of("received", "applied", "rejected", "source_refused")) {
      metrics.counter("snapshots", counter);
    }
    for (String reason :
        List.of(
            "hot",
            "cold_base_id",
            "cold_concurrency",
            "cold_hot_restart_version",
            "cold_stuck_hot_restart",
            "cold_other")) {
      metrics.counter("supervisor", "restarts." + reason);
    }
    metrics.counter("supervisor", "failed_restarts");
    metrics.counter("envoy", "crashes");
    metrics.counter("control_plane", "disconnects");
    metrics.gauge("envoy", "live_epochs", () -> snapshot().epochs().size());
    metrics.gauge("control_plane", "connected", () -> controlPlaneConnected ? 1 : 0);
    metrics.gauge("snapshots", "apply_lag_seconds", this::applyLagSeconds);
  }

  public void addListener(Listener listener) {
    listeners.add(listener);
  }

  public AgentMetrics metrics() {
    return metrics;
  }

  public synchronized AgentStatus snapshot() {
    return new AgentStatus(
        phase,
        epochs,
        appliedVersion,
        pendingVersion,
        newestVersion,
        appliedCount,
        hotRestarts,
        coldRestarts,
        failedRestarts,
        envoyCrashes,
        rejectedCount,
        lastError,
        lastErrorAtMs,
        lastRejected,
        sourceError,
        controlPlaneTarget,
        controlPlaneConnected,
        startedAtMs,
        List.copyOf(history),
        List.copyOf(restarts),
        reloads,
        lastReload);
  }

  /** A SIGHUP reload ran: {@code outcome} says what it changed, or why the config was refused. */
  synchronized void reloaded(boolean ok, String outcome) {
    metrics.counter("config", "reloads").inc();
    if (!ok) {
      metrics.counter("config", "reloads_refused").inc();
    }
    reloads++;
    lastReload = (ok ? "applied: " : "refused: ") + outcome;
    persist();
  }

  /** When the supervisor loop last ticked: {@code /healthz} and the systemd watchdog use it. */
  public long lastTickAtMs() {
    return lastTickAtMs;
  }

  void supervisor(
      String phase, List<EnvoyProcess> epochs, String appliedVersion, String pendingVersion) {
    lastTickAtMs = clockMs.getAsLong();
    synchronized (this) {
      this.phase = phase;
      this.epochs = epochs;
      this.appliedVersion = appliedVersion;
      this.pendingVersion = pendingVersion;
      persist();
    }
  }

  synchronized void received(String version) {
    metrics.counter("snapshots", "received").inc();
    sourceError = "";
    newestVersion = version;
    newestAtMs = clockMs.getAsLong();
    receivedAtMs.putIfAbsent(version, newestAtMs);
    while (receivedAtMs.size() > 100) {
      receivedAtMs.remove(receivedAtMs.keySet().iterator().next());
    }
    persist();
  }

  void applied(RouteSnapshot snapshot, boolean restarted) {
    String version = snapshot.getVersion();
    synchronized (this) {
      long now = clockMs.getAsLong();
      metrics.counter("snapshots", "applied").inc();
      Long received = receivedAtMs.remove(version);
      if (received != null) {
        metrics
            .timer("snapshots", "apply_time")
            .update(Math.max(0, now - received), TimeUnit.MILLISECONDS);
      }
      boolean changed = !version.equals(appliedVersion) || appliedCount == 0;
      appliedVersion = version;
      appliedCount++;
      Map<String, Service> services = new HashMap<>();
      snapshot.getServicesList().forEach(s -> services.put(s.getName(), s));
      if (changed) {
        remember(history, diff(version, now, restarted, appliedServices, services));
      }
      appliedServices = services;
      persist();
    }
    listeners.forEach(l -> l.applied(version));
  }

  private static AgentStatus.Applied diff(
      String version,
      long now,
      boolean restarted,
      Map<String, Service> before,
      Map<String, Service> after) {
    List<String> added = new ArrayList<>();
    List<String> removed = new ArrayList<>();
    List<String> changed = new ArrayList<>();
    after.forEach(
        (name, service) -> {
          if (!before.containsKey(name)) {
            added.add(name);
          } else if (!before.get(name).equals(service)) {
            changed.add(name);
          }
        });
    before.keySet().stream().filter(name -> !after.containsKey(name)).forEach(removed::add);
    added.sort(null);
    removed.sort(null);
    changed.sort(null);
    return new AgentStatus.Applied(version, now, restarted, added, removed, changed);
  }

  void restart(String kind) {
    synchronized (this) {
      if (kind.startsWith("cold")) {
        coldRestarts++;
      } else {
        hotRestarts++;
      }
      remember(restarts, new AgentStatus.Restart(clockMs.getAsLong(), kind));
      persist();
    }
    restartCounter(kind).inc();
  }

  /** Hot restarts and cold restarts by reason, as separate counters. */
  private Counter restartCounter(String kind) {
    String reason =
        kind.startsWith("cold: base id")
            ? "cold_base_id"
            : kind.startsWith("cold: concurrency")
                ? "cold_concurrency"
                : kind.startsWith("cold: hot-restart version")
                    ? "cold_hot_restart_version"
                    : kind.startsWith("cold") && kind.contains("hot restarts in a row")
                        ? "cold_stuck_hot_restart"
                        : kind.startsWith("cold") ? "cold_other" : "hot";
    return metrics.counter("supervisor", "restarts." + reason);
  }

  synchronized void failedRestart() {
    metrics.counter("supervisor", "failed_restarts").inc();
    failedRestarts++;
    persist();
  }

  synchronized void crash() {
    metrics.counter("envoy", "crashes").inc();
    envoyCrashes++;
    persist();
  }

  void rejected(String version, String why) {
    rejected(version, why, List.of(why));
  }

  /**
   * A version refused for several reasons; the summary goes to status, every reason to listeners.
   */
  void rejected(String version, String summary, List<String> reasons) {
    synchronized (this) {
      metrics.counter("snapshots", "rejected").inc();
      rejectedCount++;
      lastRejected = version;
      receivedAtMs.remove(version);
      error("version " + version + " refused: " + summary);
    }
    listeners.forEach(l -> l.refused(version, reasons));
  }

  /**
   * The routes source (file or stream) holds something that cannot be used; cleared by the next
   * good one.
   */
  synchronized void sourceRefused(String why) {
    metrics.counter("snapshots", "source_refused").inc();
    sourceError = why;
    error(why);
  }

  synchronized void error(String why) {
    lastError = why;
    lastErrorAtMs = clockMs.getAsLong();
    persist();
  }

  synchronized void controlPlane(boolean connected, String target) {
    if (controlPlaneConnected && !connected) {
      metrics.counter("control_plane", "disconnects").inc();
    }
    controlPlaneConnected = connected;
    controlPlaneTarget = target;
    persist();
  }

  private synchronized long applyLagSeconds() {
    return newestVersion.isEmpty() || newestVersion.equals(appliedVersion)
        ? 0
        : Math.max(0, (clockMs.getAsLong() - newestAtMs) / 1000);
  }

  private static <T> void remember(Deque<T> ring, T item) {
    ring.addLast(item);
    while (ring.size() > HISTORY) {
      ring.removeFirst();
    }
  }

  private void persist() {
    AgentStatus now = snapshot();
    if (now.equals(written)) {
      return;
    }
    written = now;
    try {
      AtomicFiles.write(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(now));
    } catch (IOException e) {
      LOG.debug("cannot write status file={} reason={}", file, e.toString());
    }
  }
}
