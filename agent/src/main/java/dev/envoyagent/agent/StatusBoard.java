package dev.envoyagent.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.envoyagent.apply.AtomicFiles;
import dev.envoyagent.envoy.EnvoyProcess;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's current {@link AgentStatus}, updated by its loops and readable from any thread.
 * Every change is also written to {@code state_dir/status.json}, so an operator (or a test) can
 * see what the agent is doing without asking it.
 */
public final class StatusBoard {

  private static final Logger LOG = LoggerFactory.getLogger(StatusBoard.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path file;
  private final LongSupplier clockMs;

  private String phase = "IDLE";
  private List<EnvoyProcess> epochs = List.of();
  private String appliedVersion = "";
  private String pendingVersion = "";
  private String newestVersion = "";
  private long appliedCount;
  private long hotRestarts;
  private long coldRestarts;
  private long failedRestarts;
  private long envoyCrashes;
  private long rejectedCount;
  private String lastError = "";
  private long lastErrorAtMs;
  private String lastRejected = "";
  private AgentStatus written;
  private final List<Listener> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();

  /** Told when a version is applied or refused: the control-plane client ACKs and NACKs from this. */
  public interface Listener {
    void applied(String version);

    void refused(String version, String why);
  }

  public void addListener(Listener listener) {
    listeners.add(listener);
  }

  public StatusBoard(Path file, LongSupplier clockMs) {
    this.file = file;
    this.clockMs = clockMs;
  }

  public synchronized AgentStatus snapshot() {
    return new AgentStatus(phase, epochs, appliedVersion, pendingVersion, newestVersion, appliedCount, hotRestarts,
        coldRestarts, failedRestarts, envoyCrashes, rejectedCount, lastError, lastErrorAtMs, lastRejected);
  }

  synchronized void supervisor(String phase, List<EnvoyProcess> epochs, String appliedVersion,
      String pendingVersion) {
    this.phase = phase;
    this.epochs = epochs;
    this.appliedVersion = appliedVersion;
    this.pendingVersion = pendingVersion;
    persist();
  }

  synchronized void received(String version) {
    newestVersion = version;
    persist();
  }

  void applied(String version, boolean restarted) {
    synchronized (this) {
      appliedVersion = version;
      appliedCount++;
      persist();
    }
    listeners.forEach(l -> l.applied(version));
  }

  synchronized void restart(String kind) {
    if (kind.startsWith("cold")) {
      coldRestarts++;
    } else {
      hotRestarts++;
    }
    persist();
  }

  synchronized void failedRestart() {
    failedRestarts++;
    persist();
  }

  synchronized void crash() {
    envoyCrashes++;
    persist();
  }

  void rejected(String version, String why) {
    synchronized (this) {
      rejectedCount++;
      lastRejected = version;
      error("version " + version + " refused: " + why);
    }
    listeners.forEach(l -> l.refused(version, why));
  }

  synchronized void error(String why) {
    lastError = why;
    lastErrorAtMs = clockMs.getAsLong();
    persist();
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
