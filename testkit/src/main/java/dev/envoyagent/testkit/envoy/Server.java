package dev.envoyagent.testkit.envoy;

import com.google.protobuf.Duration;
import io.envoyproxy.envoy.admin.v3.CommandLineOptions;
import io.envoyproxy.envoy.admin.v3.ServerInfo;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.core.v3.Node;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One serving epoch: start-up sequence, hot-restart parent and child roles, admin backend,
 * shutdown.
 */
final class Server implements AdminServer.Backend, HotRestart.ParentSide {
  /** Gauges a child never takes from its parent (Envoy's {@code ImportMode::NeverImport} stats). */
  private static final java.util.Set<String> NEVER_IMPORT =
      java.util.Set.of(
          "server.concurrency",
          "server.hot_restart_epoch",
          "server.live",
          "server.state",
          "server.stats_recent_lookups",
          "listener_manager.total_listeners_active",
          "listener_manager.total_listeners_draining",
          "listener_manager.total_listeners_warming",
          "listener_manager.total_filter_chains_draining",
          "cluster_manager.active_clusters",
          "cluster_manager.warming_clusters");

  private static final String HOT_RESTART_GENERATION = "server.hot_restart_generation";

  enum State {
    PRE_INITIALIZING,
    INITIALIZING,
    LIVE,
    DRAINING
  }

  private final SimulatorOptions options;
  private final Faults faults;
  private final Log log;
  private final Stats stats = new Stats();
  private final ProtoTypes types = new ProtoTypes();
  private final ConfigLoader loader = new ConfigLoader(types);
  private final ExecutorService dispatcher =
      Executors.newSingleThreadExecutor(daemon("main-dispatcher"));
  private final ScheduledExecutorService timers =
      Executors.newScheduledThreadPool(1, daemon("timers"));
  private final CountDownLatch exited = new CountDownLatch(1);
  private final AtomicBoolean shuttingDown = new AtomicBoolean();
  private final long startMillis = System.currentTimeMillis();
  private final UpstreamPool pool = new UpstreamPool();
  private volatile State state = State.PRE_INITIALIZING;
  private volatile boolean healthCheckFailed;
  private volatile int exitCode;
  private volatile Bootstrap bootstrap;
  private volatile Instant bootstrapLoaded;
  private volatile AdminServer admin;
  private volatile HotRestart hotRestart;
  private volatile ClusterManager clusters;
  private volatile ListenerManager listeners;
  private volatile FileWatcher watcher;
  private final Map<String, Long> parentCountersSeen = new HashMap<>();
  private final Map<String, Long> parentGauges = new HashMap<>();
  private final BuildInfo build = BuildInfo.fromEnvironment(System.getenv());
  private final ScheduledExecutorService statsFlusher =
      Executors.newSingleThreadScheduledExecutor(daemon("stats-flush"));
  private volatile java.util.concurrent.ScheduledFuture<?> statsFlush;

  Server(SimulatorOptions options, Faults faults, Log log) {
    this.options = options;
    this.faults = faults;
    this.log = log;
    AdminViews.registerTypes(types);
  }

  /** Runs until shut down; returns the process exit code. */
  int run() throws InterruptedException {
    Signals.handle("TERM", () -> shutdownServer("caught SIGTERM"));
    Signals.handle("INT", () -> shutdownServer("caught SIGINT"));
    Signals.handle("USR1", log::reopen);
    Signals.handle(
        "HUP",
        () ->
            log.info(
                "main", "caught and eating SIGHUP. See documentation for how to hot restart."));
    if (faults.crashAfterMs() >= 0) {
      timers.schedule(
          () -> crash("crash after " + faults.crashAfterMs() + " ms"),
          faults.crashAfterMs(),
          TimeUnit.MILLISECONDS);
    }
    try {
      // Envoy attaches shared memory (and sets INITIALIZING) before it reads the bootstrap, so a
      // child that fails on its config leaves the flag set too (HotRestartImpl, then InstanceImpl).
      hotRestart = HotRestart.attach(options, faults, log);
      if (hotRestart.enabled()) {
        ChannelFds.check();
        // Like Envoy: SIGTERM when the thread that spawned us exits.
        Libc.INSTANCE.prctl(Libc.PR_SET_PDEATHSIG, Libc.SIGTERM, 0, 0, 0);
      }
      loader.configure(options, stats, log); // validation visitors, local node (ConfigLoader)
      bootstrap =
          withNodeOverrides(loader.loadBootstrap(options.configPath(), options.configYaml()));
      bootstrapLoaded = Instant.now();
      hotRestart.connectToParent();
      if (faults.crashDuringHotRestart() && hotRestart.hasParent()) {
        crash("crash during hot restart (" + Faults.CRASH_DURING_HOT_RESTART + ")");
      }
      hotRestart.listenForChild(this);
      if (hotRestart.enabled()) {
        // HotRestartingParent::Internal: an Accumulate gauge, so a child shows the generation
        // count.
        stats.gauge(HOT_RESTART_GENERATION).incrementAndGet();
      }
      startAdmin();
      initialize();
    } catch (ConfigException e) {
      log.critical(
          "main",
          "error initializing configuration '" + options.configPath() + "': " + e.getMessage());
      shutdown(1, "configuration error");
    } catch (HotRestart.HotRestartException e) {
      // An EnvoyException out of main: printed on stderr, exit 1 (main_common.cc).
      log.critical("main", e.getMessage());
      if (options.logPath() != null) {
        System.err.println(e.getMessage());
      }
      shutdown(1, "hot restart error");
    } catch (IOException | RuntimeException e) {
      log.critical("main", "error initializing: " + e);
      shutdown(1, "initialization error");
    }
    exited.await();
    return exitCode;
  }

  /**
   * Envoy's start-up order (server.cc): the cluster manager initialises its clusters (static ones,
   * CDS, then EDS/secondary ones, each with its first health-check round) while the server state is
   * PRE_INITIALIZING (init manager uninitialised); then the init manager runs (listeners, LDS, RDS)
   * in INITIALIZING; then workers start and the parent is told to drain.
   */
  private void initialize() throws ConfigException, IOException, InterruptedException {
    state = State.PRE_INITIALIZING;
    startStatsFlush();
    watcher = new FileWatcher(dispatcher, log);
    clusters = new ClusterManager(loader, stats, log, faults, watcher);
    FilterChains.Context ctx =
        new FilterChains.Context(
            loader, clusters, pool, stats, log, faults, watcher, () -> healthCheckFailed, false);
    listeners =
        new ListenerManager(
            loader,
            stats,
            log,
            faults,
            ctx,
            timers,
            options.drainTimeS() * 1000L,
            options.drainStrategy() == SimulatorOptions.DrainStrategy.IMMEDIATE);
    // Config work happens on the dispatcher, the one thread that also applies file updates.
    runOnDispatcher(
        () -> {
          clusters.addStatic(bootstrap.getStaticResources().getClustersList());
          if (bootstrap.getDynamicResources().hasCdsConfig()) {
            clusters.startCds(bootstrap.getDynamicResources().getCdsConfig());
          }
        });
    clusters.startHealthChecks();
    clusters.awaitInitialHealthChecks();
    log.info("main", "all clusters initialized. initializing init manager");
    state = State.INITIALIZING;
    if (faults.initDelayMs() > 0 && exited.await(faults.initDelayMs(), TimeUnit.MILLISECONDS)) {
      return; // shut down while waiting
    }
    runOnDispatcher(
        () -> {
          listeners.addStatic(bootstrap.getStaticResources().getListenersList());
          if (bootstrap.getDynamicResources().hasLdsConfig()) {
            listeners.startLds(bootstrap.getDynamicResources().getLdsConfig());
          }
        });
    if (faults.neverLive()) {
      log.warn("main", "never going LIVE (" + Faults.NEVER_LIVE + ")");
      return; // stays INITIALIZING: no workers, the parent keeps serving, the flag stays set
    }
    listeners.startWorkers(hotRestart::takeListenSocket);
    if (hotRestart.hasParent()) {
      hotRestart.drainParent();
      timers.schedule(this::shutDownParent, options.parentShutdownTimeS(), TimeUnit.SECONDS);
    }
    if (!faults.stuckInitializing()) {
      hotRestart.clearInitializing();
    }
    stats.gauge("server.live").set(1);
    state = healthCheckFailed ? State.DRAINING : State.LIVE;
    log.info("main", "starting workers; epoch " + options.restartEpoch() + " is LIVE");
  }

  /**
   * DrainManagerImpl::startParentShutdownSequence: at parent-shutdown time the parent is
   * terminated.
   */
  private void shutDownParent() {
    log.info(
        "main", "shutting down parent after drain (epoch " + (options.restartEpoch() - 1) + ")");
    terminateParent();
  }

  /** sendParentTerminateRequest, then the parent's share of the gauges is dropped (~StatMerger). */
  private void terminateParent() {
    boolean hadParent = hotRestart != null && hotRestart.hasParent();
    if (hotRestart != null) {
      hotRestart.terminateParent();
    }
    if (hadParent) {
      forgetParentGauges();
    }
  }

  /**
   * The stats flush timer (bootstrap {@code stats_flush_interval}, default 5 s; none with {@code
   * stats_flush_on_admin}). Each flush merges the parent's stats while it has not been terminated
   * (InstanceImpl::flushStats, updateServerStats, mergeParentStatsIfAny), even before the server is
   * LIVE.
   */
  private void startStatsFlush() {
    if (bootstrap.getStatsFlushOnAdmin()) {
      return;
    }
    long ms =
        bootstrap.hasStatsFlushInterval()
            ? Math.max(1, RouteTable.millis(bootstrap.getStatsFlushInterval()))
            : 5000;
    statsFlush =
        statsFlusher.scheduleWithFixedDelay(this::flushStats, ms, ms, TimeUnit.MILLISECONDS);
  }

  private void flushStats() {
    try {
      mergeParentStats();
    } catch (RuntimeException e) {
      log.warn("main", "stats flush: " + e);
    }
  }

  /**
   * HotRestartingChild::mergeParentStats with Stats::StatMerger: counters grow by what the parent
   * counted since the last merge; each gauge not marked NeverImport shows the child's own value
   * plus the parent's latest one, until the parent is terminated.
   */
  private synchronized void mergeParentStats() {
    if (hotRestart == null || !hotRestart.hasParent()) {
      return;
    }
    HotRestart.ParentStats parent = hotRestart.parentStats();
    if (parent == null) {
      return;
    }
    parent
        .counters()
        .forEach(
            (name, value) -> {
              long delta = value - parentCountersSeen.getOrDefault(name, 0L);
              if (delta > 0) {
                stats.counter(name).addAndGet(delta);
              }
              parentCountersSeen.put(name, value);
            });
    parent
        .gauges()
        .forEach(
            (name, value) -> {
              if (neverImport(name)) {
                return;
              }
              long before = parentGauges.getOrDefault(name, 0L);
              stats.gauge(name).addAndGet(value - before);
              parentGauges.put(name, value);
            });
  }

  /**
   * The parent's contributions leave the gauges, except the hot-restart generation
   * (retainParentGaugeValue).
   */
  private synchronized void forgetParentGauges() {
    parentGauges.forEach(
        (name, value) -> {
          if (!name.equals(HOT_RESTART_GENERATION)) {
            stats.gauge(name).addAndGet(-value);
          }
        });
    parentGauges.clear();
  }

  static boolean neverImport(String gauge) {
    return NEVER_IMPORT.contains(gauge)
        || gauge.endsWith(".version")
        || gauge.endsWith(".connected_state")
        || gauge.matches("cluster\\..*\\.membership_(total|healthy|degraded|excluded)");
  }

  private interface ConfigStep {
    void run() throws ConfigException;
  }

  private void runOnDispatcher(ConfigStep step) throws ConfigException, InterruptedException {
    try {
      dispatcher
          .submit(
              () -> {
                step.run();
                return null;
              })
          .get();
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof ConfigException ce) {
        throw ce;
      }
      throw new IllegalStateException(e.getCause());
    }
  }

  private void startAdmin() throws IOException, ConfigException {
    if (!bootstrap.hasAdmin() || !bootstrap.getAdmin().hasAddress()) {
      log.warn("main", "No admin address given, so no admin HTTP server started.");
      return;
    }
    var sa = bootstrap.getAdmin().getAddress().getSocketAddress();
    InetSocketAddress address =
        new InetSocketAddress(InetAddress.getByName(sa.getAddress()), sa.getPortValue());
    admin = AdminServer.start(address, this, log);
  }

  private Bootstrap withNodeOverrides(Bootstrap b) {
    if (!b.getNode().hasUserAgentBuildVersion()) {
      b =
          b.toBuilder()
              .setNode(b.getNode().toBuilder().setUserAgentBuildVersion(build.buildVersion()))
              .build();
    }
    Node.Builder node = b.getNode().toBuilder();
    if (!options.serviceNode().isEmpty()) {
      node.setId(options.serviceNode());
    }
    if (!options.serviceCluster().isEmpty()) {
      node.setCluster(options.serviceCluster());
    }
    if (!options.serviceZone().isEmpty()) {
      node.getLocalityBuilder().setZone(options.serviceZone());
    }
    node.setUserAgentName("envoy");
    return b.toBuilder().setNode(node).build();
  }

  private void crash(String why) {
    Crash.abort(log, why);
  }

  /**
   * InstanceImpl::shutdown (SIGTERM, SIGINT, /quitquitquit): a child that has not terminated its
   * parent yet sends it the terminate request first, so the parent exits too.
   */
  void shutdownServer(String why) {
    if (shuttingDown.get()) {
      return;
    }
    log.info("main", "shutting down server instance (" + why + ")");
    terminateParent();
    shutdown(0, why);
  }

  void shutdown(int code, String why) {
    if (!shuttingDown.compareAndSet(false, true)) {
      return;
    }
    log.info("main", "shutting down: " + why);
    exitCode = code;
    statsFlusher.shutdownNow();
    stats.gauge("server.live").set(0);
    if (listeners != null) {
      listeners.closeAll(); // SIGTERM is not a drain: listeners and connections close at once
    }
    if (admin != null) {
      admin.stop();
    }
    if (hotRestart != null) {
      hotRestart.close();
    }
    if (clusters != null) {
      clusters.close();
    }
    pool.closeAll();
    log.info("main", "exiting");
    exited.countDown();
  }

  // ---- HotRestart.ParentSide: requests from the next epoch ----

  @Override
  public void shutdownAdmin() {
    log.warn("main", "shutting down admin due to child startup");
    java.util.concurrent.ScheduledFuture<?> flush = statsFlush;
    if (flush != null) {
      flush.cancel(false); // stat_flush_timer_.reset(): a parent stops flushing (and merging)
    }
    AdminServer a = admin;
    admin = null;
    if (a != null) {
      a.stop();
    }
    log.info("main", "shut down admin for the hot-restart child");
  }

  @Override
  public ServerSocketChannel listenSocket(String addressKey) {
    return listeners == null ? null : listeners.channelFor(addressKey);
  }

  @Override
  public HotRestart.ParentStats exportStats() {
    refreshServerGauges();
    Map<String, Long> counters = stats.counterSnapshot();
    Map<String, Long> gauges = new java.util.TreeMap<>(stats.snapshot(null, false));
    gauges.keySet().removeAll(counters.keySet());
    return new HotRestart.ParentStats(counters, gauges);
  }

  @Override
  public void drainListeners() {
    log.info(
        "main", "hot restart: stopping listeners and draining for " + options.drainTimeS() + " s");
    state = State.DRAINING;
    if (listeners != null) {
      drain(true);
    }
  }

  /** HotRestartingParent: on the child's terminate request the parent sends itself SIGTERM. */
  @Override
  public void terminate() {
    Libc.INSTANCE.kill(Libc.INSTANCE.getpid(), Libc.SIGTERM);
  }

  private void drain(boolean stopFirst) {
    long drainMs = options.drainTimeS() * 1000L;
    if (stopFirst) {
      listeners.stopListeners();
    }
    listeners.startDrain(
        drainMs, options.drainStrategy() == SimulatorOptions.DrainStrategy.IMMEDIATE);
    timers.schedule(
        () -> {
          listeners.closeIdleConnections();
          if (!stopFirst) {
            listeners.stopListeners();
          }
        },
        drainMs,
        TimeUnit.MILLISECONDS);
  }

  // ---- AdminServer.Backend ----

  @Override
  public String state() {
    return state.name();
  }

  @Override
  public String serverInfoJson() {
    long now = System.currentTimeMillis();
    HotRestart hr = hotRestart;
    ServerInfo info =
        ServerInfo.newBuilder()
            .setVersion(build.version())
            .setState(ServerInfo.State.valueOf(state.name()))
            .setUptimeCurrentEpoch(Duration.newBuilder().setSeconds((now - startMillis) / 1000))
            .setUptimeAllEpochs(
                Duration.newBuilder()
                    .setSeconds(
                        (now - (hr == null ? startMillis : hr.originalStartMillis())) / 1000))
            .setHotRestartVersion(hotRestartVersion())
            .setCommandLineOptions(commandLineOptions())
            .setNode(bootstrap.getNode())
            .build();
    return AdminViews.print(types, info);
  }

  private CommandLineOptions commandLineOptions() {
    return CommandLineOptions.newBuilder()
        .setBaseId(options.baseId())
        .setUseDynamicBaseId(options.useDynamicBaseId())
        .setSkipHotRestartOnNoParent(options.skipHotRestartOnNoParent())
        .setConcurrency(options.concurrency())
        .setConfigPath(options.configPath() == null ? "" : options.configPath())
        .setConfigYaml(options.configYaml() == null ? "" : options.configYaml())
        .setLogLevel(options.logLevel())
        .setLogPath(options.logPath() == null ? "" : options.logPath())
        .setServiceCluster(options.serviceCluster())
        .setServiceNode(options.serviceNode())
        .setServiceZone(options.serviceZone())
        .setDrainTime(Duration.newBuilder().setSeconds(options.drainTimeS()))
        .setDrainStrategy(
            options.drainStrategy() == SimulatorOptions.DrainStrategy.IMMEDIATE
                ? CommandLineOptions.DrainStrategy.Immediate
                : CommandLineOptions.DrainStrategy.Gradual)
        .setParentShutdownTime(Duration.newBuilder().setSeconds(options.parentShutdownTimeS()))
        .setMode(CommandLineOptions.Mode.Serve)
        .setDisableHotRestart(options.disableHotRestart())
        .setRestartEpoch(options.restartEpoch())
        .setSocketPath(options.socketPath())
        .build();
  }

  @Override
  public String hotRestartVersion() {
    return options.disableHotRestart() ? "disabled" : faults.hotRestartVersion();
  }

  @Override
  public String clustersJson() {
    return clusters == null ? "{}" : AdminViews.print(types, AdminViews.clusters(clusters));
  }

  @Override
  public String clustersText() {
    StringBuilder sb = new StringBuilder();
    if (clusters != null) {
      for (UpstreamCluster c : clusters.all()) {
        for (Host h : c.hosts()) {
          String flags = h.failedActiveHc ? "/failed_active_hc" : "healthy";
          sb.append(c.name)
              .append("::")
              .append(h.key())
              .append("::health_flags::")
              .append(flags)
              .append('\n');
          sb.append(c.name)
              .append("::")
              .append(h.key())
              .append("::weight::")
              .append(h.weight)
              .append('\n');
          sb.append(c.name)
              .append("::")
              .append(h.key())
              .append("::rq_total::")
              .append(h.rqTotal.get())
              .append('\n');
        }
      }
    }
    return sb.toString();
  }

  @Override
  public String listenersJson() {
    return listeners == null ? "{}" : AdminViews.print(types, AdminViews.listeners(listeners));
  }

  @Override
  public Stats stats() {
    if (bootstrap != null && bootstrap.getStatsFlushOnAdmin()) {
      flushStats(); // flush_on_admin: the admin stats request is the flush
    }
    refreshServerGauges();
    return stats;
  }

  private void refreshServerGauges() {
    stats
        .gauge("server.state")
        .set(
            switch (state) {
              case LIVE -> 0;
              case DRAINING -> 1;
              case PRE_INITIALIZING -> 2;
              case INITIALIZING -> 3;
            });
    HotRestart hr = hotRestart;
    long originalStart = hr == null ? startMillis : hr.originalStartMillis();
    stats
        .gauge("server.uptime")
        .set(
            (System.currentTimeMillis() - originalStart) / 1000
                + parentGaugeValue("server.uptime"));
    stats.gauge("server.hot_restart_epoch").set(options.restartEpoch());
    stats.gauge("server.concurrency").set(options.concurrency());
    stats.gauge("server.version").set(build.serverVersionGauge());
  }

  private synchronized long parentGaugeValue(String name) {
    return parentGauges.getOrDefault(name, 0L);
  }

  @Override
  public String configDumpJson(boolean includeEds) {
    if (clusters == null || listeners == null) {
      return "{\"configs\":[]}";
    }
    try {
      return types
          .compactPrinter()
          .print(
              AdminViews.configDump(bootstrap, bootstrapLoaded, clusters, listeners, includeEds));
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      return "{\"error\":\"" + e.getMessage().replace("\"", "'") + "\"}";
    }
  }

  @Override
  public void healthCheckFail(boolean fail) {
    healthCheckFailed = fail;
    if (state == State.LIVE || state == State.DRAINING) {
      state = fail ? State.DRAINING : State.LIVE;
    }
  }

  @Override
  public void drainListeners(boolean graceful) {
    if (listeners != null) {
      drain(!graceful);
    }
  }

  @Override
  public void quit() {
    timers.execute(() -> shutdownServer("/quitquitquit"));
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }
}
