package dev.envoyagent.agent;

import dev.envoyagent.config.AgentConfigLoader;
import dev.envoyagent.config.AgentSettings;
import dev.envoyagent.ec2.Ec2Detector;
import dev.envoyagent.ec2.Ec2Metadata;
import dev.envoyagent.ec2.Ec2MetadataOptions;
import dev.envoyagent.ec2.Ec2Mode;
import dev.envoyagent.ec2.TerminationWatcher;
import dev.envoyagent.envoy.HostProcessControl;
import dev.envoyagent.envoy.HttpEnvoyAdmin;
import dev.envoyagent.metrics.AgentMetrics;
import dev.envoyagent.metrics.StatsdReporter;
import dev.envoyagent.model.InvalidInputException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root of {@code envoy-agent run}: wires the routes source, the supervisor and the
 * signal handlers together, and runs until told to stop.
 *
 * <p>Signals: SIGHUP re-reads agent.yaml and the routes and re-applies; SIGUSR1 is forwarded to
 * Envoy (log reopen); SIGTERM/SIGINT drain Envoy gracefully, stop it and exit; SIGUSR2 exits at
 * once and leaves Envoy running, for an agent upgrade: the next agent adopts it.
 */
public final class AgentDaemon {

  private static final Logger LOG = LoggerFactory.getLogger(AgentDaemon.class);

  enum Exit {
    STOP_ENVOY,
    LEAVE_ENVOY
  }

  private final Path configFile;
  private final CountDownLatch stop = new CountDownLatch(1);
  private final AtomicReference<Exit> exit = new AtomicReference<>(Exit.STOP_ENVOY);

  public AgentDaemon(Path configFile) {
    this.configFile = configFile;
  }

  /** Runs until SIGTERM/SIGINT/SIGUSR2; returns the process exit code. */
  public int run() throws InvalidInputException, IOException, InterruptedException {
    AgentSettings configured = AgentConfigLoader.load(configFile);
    Logging.configure(configured.logFormat(), System.console() != null);
    Optional<Ec2Metadata> ec2 =
        new Ec2Detector(ec2Options(), Clock.systemUTC())
            .open(Ec2Mode.valueOf(configured.ec2().name()));
    HostIdentity identity = new HostIdentity(ec2.map(Ec2Metadata::identity));
    AgentSettings settings = identity.applyTo(configured);
    Files.createDirectories(settings.stateDir());
    AgentMetrics metrics = new AgentMetrics();
    StatusBoard status =
        new StatusBoard(
            settings.stateDir().resolve("status.json"), System::currentTimeMillis, metrics);
    metrics.gauge("state", "last_known_good_age_seconds", () -> lastKnownGoodAgeSeconds(settings));
    HostProcessControl processes = new HostProcessControl(settings.stateDir().resolve("run"));
    Optional<String> unsupported =
        Supervisor.unsupportedEnvoy(processes, settings.envoy().binary());
    if (unsupported.isPresent()) {
      throw new InvalidInputException(
          configFile.toString(),
          java.util.List.of(new dev.envoyagent.model.Problem("envoy.binary", unsupported.get())));
    }
    Closer closer = new Closer();
    try {
      runUntilStopped(settings, identity, ec2, metrics, status, processes, closer);
    } finally {
      closer.closeAll();
    }
    LOG.info("envoy-agent stopped");
    return 0;
  }

  /**
   * Starts everything, registering each thing with {@code closer} as it starts; waits for a stop.
   */
  private void runUntilStopped(
      AgentSettings settings,
      HostIdentity identity,
      Optional<Ec2Metadata> ec2,
      AgentMetrics metrics,
      StatusBoard status,
      HostProcessControl processes,
      Closer closer)
      throws InterruptedException, IOException {
    ScheduledExecutorService loop = Executors.newSingleThreadScheduledExecutor(named("supervisor"));
    closer.onClose("supervisor loop", Closer.executor(loop, Duration.ofSeconds(5)));
    ScheduledExecutorService sourceLoop =
        Executors.newSingleThreadScheduledExecutor(named("routes-source"));
    closer.onClose("routes-source loop", Closer.executor(sourceLoop, Duration.ofSeconds(2)));
    Supervisor supervisor =
        new Supervisor(
            settings,
            loop,
            processes,
            port -> new HttpEnvoyAdmin(port, Duration.ofSeconds(2)),
            System::nanoTime,
            new SecureRandom(),
            status);
    LOG.info(
        "envoy-agent starting version={} config={} node={} routes={} envoy={} delivery={}",
        AgentVersion.version(),
        configFile,
        settings.node().id(),
        settings.routesFile().map(Object::toString).orElse("-")
            + settings.controlPlane().map(cp -> " control_plane=" + cp.addresses()).orElse(""),
        settings.envoy().binary(),
        settings.envoy().delivery().configName());
    supervisor.start();
    closer.onClose(
        "Envoy",
        () -> {
          if (exit.get() == Exit.STOP_ENVOY) {
            supervisor.stopEnvoy(Duration.ofSeconds(settings.envoy().drainTimeS()));
          } else {
            LOG.info("leaving Envoy running for the next agent to adopt");
          }
        });

    RouteFeed feed = new RouteFeed(settings, sourceLoop, supervisor, status);
    feed.start();
    closer.onClose("route sources", feed::stop);
    // The class data sharing check and the exporters after the routes: on a rebooted host, Envoy
    // serving the last known good comes first.
    AppCds.Check cds = AppCds.current();
    metrics.gauge("jvm", "appcds_archive_mapped", () -> cds.state().metric);
    // Deprecated name (CDS is Envoy's Cluster Discovery Service): dashboards move within a release.
    metrics.gauge("jvm", "cds_archive_mapped", () -> cds.state().metric);
    if (cds.state() == AppCds.State.NOT_USED) {
      LOG.warn(
          "AppCDS archive not used (written for another JVM or jar), so starts are slower; "
              + "write it again: envoy-agent appcds-archive --out {}",
          cds.archive());
    }
    metrics.startJmx();
    settings
        .statsd()
        .ifPresent(
            target ->
                closer
                    .register(
                        "statsd",
                        new StatsdReporter(
                            metrics.registry(),
                            new InetSocketAddress(target.host(), target.port())))
                    .start(settings.statsdIntervalMs(), TimeUnit.MILLISECONDS));
    ScheduledExecutorService healthLoop = Executors.newScheduledThreadPool(2, named("host-health"));
    closer.onClose("host-health loop", Closer.executor(healthLoop, Duration.ofSeconds(2)));
    HostHealth hostHealth =
        new HostHealth(
            settings,
            status,
            new HttpEnvoyAdmin(settings.envoy().adminPort(), Duration.ofSeconds(2)),
            healthLoop,
            identity.instance());
    hostHealth.start();
    closer.onClose(
        "host health",
        () -> {
          if (exit.get() == Exit.STOP_ENVOY) {
            hostHealth.markDraining("the agent is stopping Envoy");
          }
          hostHealth.close();
        });
    Optional<TerminationWatcher> termination =
        ec2.map(
            metadata ->
                new TerminationWatcher(
                    new CountedEc2Metadata(metadata, metrics),
                    TerminationWatcher.Settings.defaults(),
                    Clock.systemUTC(),
                    new SecureRandom()::nextDouble,
                    notice ->
                        healthLoop.execute(
                            () ->
                                hostHealth.drain(
                                    "EC2 "
                                        + notice.kind()
                                        + " notice, deadline "
                                        + notice.deadline()))));
    termination.ifPresent(watcher -> closer.register("EC2 termination watcher", watcher).start());
    AdminServer admin =
        new AdminServer(
            settings,
            status,
            hostHealth::extras,
            () -> healthLoop.execute(() -> hostHealth.drain("asked through POST /drain")),
            System::currentTimeMillis);
    admin.start();
    closer.register("agent admin", admin);
    SystemdNotifier systemd = SystemdNotifier.fromEnvironment(System.getenv());
    if (systemd.enabled()) {
      tellSystemd(systemd, status, healthLoop);
    }

    ConfigReload reloads =
        new ConfigReload(
            sourceLoop,
            () -> {
              systemd.notify("RELOADING=1\nMONOTONIC_USEC=" + System.nanoTime() / 1000);
              reload(settings, supervisor, status, feed, hostHealth, identity);
              systemd.notify("READY=1\nSTATUS=reloaded " + configFile);
            },
            System::nanoTime,
            ConfigReload.MIN_GAP);
    Signals.handle("HUP", reloads::request);
    Signals.handle("USR1", () -> supervisor.signalEnvoy("USR1"));
    Signals.handle("TERM", () -> requestStop(Exit.STOP_ENVOY, "SIGTERM"));
    Signals.handle("INT", () -> requestStop(Exit.STOP_ENVOY, "SIGINT"));
    Signals.handle("USR2", () -> requestStop(Exit.LEAVE_ENVOY, "SIGUSR2"));

    stop.await();
    systemd.notify(
        "STOPPING=1\nSTATUS="
            + (exit.get() == Exit.STOP_ENVOY ? "draining Envoy" : "leaving Envoy running"));
    // The closer stops everything started above, newest first.
  }

  private void requestStop(Exit how, String signal) {
    LOG.info(
        "received {}: {}",
        signal,
        how == Exit.STOP_ENVOY ? "draining and stopping Envoy" : "exiting, Envoy stays");
    exit.compareAndSet(Exit.STOP_ENVOY, how);
    stop.countDown();
  }

  /**
   * SIGHUP: agent.yaml and the routes again, to every component that can take them in place (the
   * supervisor, the route sources, heartbeats and local checks); what needs an agent restart is
   * logged as such. {@code started} is what the agent started with.
   */
  private void reload(
      AgentSettings started,
      Supervisor supervisor,
      StatusBoard status,
      RouteFeed feed,
      HostHealth hostHealth,
      HostIdentity identity) {
    try {
      AgentSettings next = identity.applyTo(AgentConfigLoader.load(configFile));
      supervisor.updateSettings(next);
      feed.reload(next);
      String restarted = hostHealth.reload(next);
      if (!next.logFormat().equals(started.logFormat())) {
        Logging.configure(next.logFormat(), System.console() != null);
        restarted += ", logging (" + next.logFormat() + ")";
      }
      List<String> needRestart = RestartOnly.changed(started, next);
      if (!needRestart.isEmpty()) {
        LOG.warn(
            "SIGHUP: {} changed; that takes effect when the agent restarts (systemctl restart envoy-agent)",
            String.join(", ", needRestart));
      }
      LOG.info("SIGHUP: reloaded config={} restarted=\"{}\"", configFile, restarted);
      status.reloaded(
          true,
          restarted
              + (needRestart.isEmpty()
                  ? ""
                  : "; needs an agent restart: " + String.join(", ", needRestart)));
    } catch (InvalidInputException e) {
      LOG.warn("SIGHUP: config refused, keeping the running one problems={}", e.problems().size());
      e.problems().forEach(p -> LOG.warn("SIGHUP: config refused problem=\"{}\"", p));
      status.error("config refused on reload: " + e.getMessage());
      status.reloaded(false, e.getMessage());
    } catch (RuntimeException e) {
      LOG.warn("SIGHUP: reload failed, keeping the running config reason={}", e.toString());
      status.reloaded(false, e.toString());
    }
  }

  /** Settings only a new agent process takes: they bind sockets or threads at start. */
  static final class RestartOnly {
    private RestartOnly() {}

    static List<String> changed(AgentSettings before, AgentSettings after) {
      List<String> changed = new ArrayList<>();
      if (!before.adminListen().equals(after.adminListen())) {
        changed.add("admin.listen");
      }
      if (!before.statsd().equals(after.statsd())
          || before.statsdIntervalMs() != after.statsdIntervalMs()) {
        changed.add("metrics.statsd");
      }
      if (!before.stateDir().equals(after.stateDir())) {
        changed.add("state_dir");
      }
      if (!before.ec2().equals(after.ec2())) {
        changed.add("ec2");
      }
      return changed;
    }
  }

  /**
   * READY=1 once Envoy is LIVE with the current routes (so systemd orders dependants after real
   * service), STATUS= lines as things change, and WATCHDOG=1 only while the supervisor loop ticks:
   * a hung agent stops pinging and systemd restarts it (Envoy, detached, keeps serving).
   */
  private static void tellSystemd(
      SystemdNotifier systemd, StatusBoard status, ScheduledExecutorService executor) {
    long watchdogUsec = parseLong(System.getenv("WATCHDOG_USEC"));
    java.util.concurrent.atomic.AtomicBoolean ready =
        new java.util.concurrent.atomic.AtomicBoolean();
    AtomicReference<String> lastStatus = new AtomicReference<>("");
    // At most 1 s apart even with a long watchdog: this task also sends READY=1 and STATUS=.
    long periodMs = watchdogUsec > 0 ? Math.max(100, Math.min(1000, watchdogUsec / 2000)) : 1000;
    executor.scheduleWithFixedDelay(
        () -> {
          try {
            AgentStatus now = status.snapshot();
            String line =
                "STATUS="
                    + now.phase()
                    + ", routes "
                    + (now.appliedVersion().isEmpty() ? "-" : now.appliedVersion())
                    + ", epochs "
                    + now.epochs().stream().map(e -> Integer.toString(e.epoch())).toList()
                    + (now.lastError().isEmpty() ? "" : ", last error: " + now.lastError());
            StringBuilder message = new StringBuilder();
            if (!ready.get() && AdminServer.notReadyReason(now) == null) {
              ready.set(true);
              message.append("READY=1\n");
              LOG.info("told systemd: ready version={}", now.appliedVersion());
            }
            if (!line.equals(lastStatus.get())) {
              lastStatus.set(line);
              message.append(line).append('\n');
            }
            boolean loopsAlive =
                System.currentTimeMillis() - status.lastTickAtMs()
                    <= AdminServer.STALLED_AFTER.toMillis();
            if (watchdogUsec > 0 && loopsAlive) {
              message.append("WATCHDOG=1\n");
            }
            if (message.length() > 0) {
              systemd.notify(message.toString());
            }
          } catch (RuntimeException e) {
            // An exception would cancel this task for good, and then the watchdog kills a healthy
            // agent.
            LOG.warn("systemd notification failed reason={}", e.toString());
          }
        },
        0,
        periodMs,
        TimeUnit.MILLISECONDS);
  }

  private static long parseLong(String value) {
    try {
      return value == null ? 0 : Long.parseLong(value.trim());
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /**
   * IMDS at its standard address, or where AWS_EC2_METADATA_SERVICE_ENDPOINT (the SDK's variable)
   * says.
   */
  private static Ec2MetadataOptions ec2Options() {
    String endpoint = System.getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    Ec2MetadataOptions options = Ec2MetadataOptions.defaults();
    return endpoint == null || endpoint.isBlank()
        ? options
        : options.withEndpoint(java.net.URI.create(endpoint.trim()));
  }

  /** Seconds since the last applied snapshot was recorded; -1 when there is none. */
  private static long lastKnownGoodAgeSeconds(AgentSettings settings) {
    try {
      var entries =
          new dev.envoyagent.apply.VersionHistory(settings.historyDir(), settings.historyKeep())
              .entries();
      if (entries.isEmpty()) {
        return -1;
      }
      long modified = Files.getLastModifiedTime(entries.get(entries.size() - 1).file()).toMillis();
      return Math.max(0, (System.currentTimeMillis() - modified) / 1000);
    } catch (IOException e) {
      return -1;
    }
  }

  private static java.util.concurrent.ThreadFactory named(String name) {
    return runnable -> {
      Thread thread = new Thread(runnable, name);
      thread.setDaemon(true);
      return thread;
    };
  }
}
