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

/** One serving epoch: start-up sequence, hot-restart parent and child roles, admin backend, shutdown. */
final class Server implements AdminServer.Backend, HotRestart.ParentSide {
    static final String VERSION = "0000000000000000000000000000000000000000/1.34.0-simulator/Clean/RELEASE/BoringSSL";

    enum State { PRE_INITIALIZING, INITIALIZING, LIVE, DRAINING }

    private final SimulatorOptions options;
    private final Faults faults;
    private final Log log;
    private final Stats stats = new Stats();
    private final ProtoTypes types = new ProtoTypes();
    private final ConfigLoader loader = new ConfigLoader(types);
    private final ExecutorService dispatcher = Executors.newSingleThreadExecutor(daemon("main-dispatcher"));
    private final ScheduledExecutorService timers = Executors.newScheduledThreadPool(1, daemon("timers"));
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

    Server(SimulatorOptions options, Faults faults, Log log) {
        this.options = options;
        this.faults = faults;
        this.log = log;
        AdminViews.registerTypes(types);
    }

    /** Runs until shut down; returns the process exit code. */
    int run() throws InterruptedException {
        Signals.handle("TERM", () -> shutdown(0, "caught SIGTERM"));
        Signals.handle("INT", () -> shutdown(0, "caught SIGINT"));
        Signals.handle("USR1", log::reopen);
        Signals.handle("HUP", () -> log.info("main", "caught and eating SIGHUP. See documentation for how to hot restart."));
        if (faults.crashAfterMs() >= 0) {
            timers.schedule(() -> crash("crash after " + faults.crashAfterMs() + " ms"), faults.crashAfterMs(),
                    TimeUnit.MILLISECONDS);
        }
        try {
            loader.configure(options, stats, log); // validation visitors, local node (ConfigLoader)
            bootstrap = withNodeOverrides(loader.loadBootstrap(options.configPath(), options.configYaml()));
            bootstrapLoaded = Instant.now();
            hotRestart = HotRestart.initialize(options, faults, log);
            if (hotRestart.enabled()) {
                ChannelFds.check();
                // Like Envoy: SIGTERM when the thread that spawned us exits.
                Libc.INSTANCE.prctl(Libc.PR_SET_PDEATHSIG, Libc.SIGTERM, 0, 0, 0);
            }
            if (faults.crashDuringHotRestart() && hotRestart.hasParent()) {
                crash("crash during hot restart (" + Faults.CRASH_DURING_HOT_RESTART + ")");
            }
            hotRestart.listenForChild(this);
            startAdmin();
            initialize();
        } catch (ConfigException e) {
            log.critical("main", "error initializing configuration '" + options.configPath() + "': " + e.getMessage());
            shutdown(1, "configuration error");
        } catch (HotRestart.HotRestartException e) {
            log.critical("main", e.getMessage());
            shutdown(1, "hot restart error");
        } catch (IOException | RuntimeException e) {
            log.critical("main", "error initializing: " + e);
            shutdown(1, "initialization error");
        }
        exited.await();
        return exitCode;
    }

    private void initialize() throws ConfigException, IOException, InterruptedException {
        state = State.INITIALIZING;
        if (faults.initDelayMs() > 0) {
            Thread.sleep(faults.initDelayMs());
        }
        watcher = new FileWatcher(dispatcher, log);
        clusters = new ClusterManager(loader, stats, log, faults, watcher);
        FilterChains.Context ctx = new FilterChains.Context(loader, clusters, pool, stats, log, faults, watcher,
                () -> healthCheckFailed, false);
        listeners = new ListenerManager(loader, stats, log, faults, ctx, timers, options.drainTimeS() * 1000L,
                options.drainStrategy() == SimulatorOptions.DrainStrategy.IMMEDIATE);
        // Config work happens on the dispatcher, the one thread that also applies file updates.
        runOnDispatcher(() -> {
            clusters.addStatic(bootstrap.getStaticResources().getClustersList());
            if (bootstrap.getDynamicResources().hasCdsConfig()) {
                clusters.startCds(bootstrap.getDynamicResources().getCdsConfig());
            }
        });
        clusters.startHealthChecks();
        clusters.awaitInitialHealthChecks();
        runOnDispatcher(() -> {
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
            mergeParentCounters();
            timers.schedule(this::shutDownParent, options.parentShutdownTimeS(), TimeUnit.SECONDS);
        }
        if (!faults.stuckInitializing()) {
            hotRestart.clearInitializing();
        }
        stats.gauge("server.live").set(1);
        state = healthCheckFailed ? State.DRAINING : State.LIVE;
        log.info("main", "all clusters initialized. initializing init manager; starting workers; epoch "
                + options.restartEpoch() + " is LIVE");
    }

    private void shutDownParent() {
        mergeParentCounters();
        log.info("main", "shutting down parent after drain (epoch " + (options.restartEpoch() - 1) + ")");
        hotRestart.terminateParent();
    }

    /** Envoy hands the parent's counters to the child: each pull adds what grew since the last one. */
    private synchronized void mergeParentCounters() {
        hotRestart.parentCounters().forEach((name, value) -> {
            long delta = value - parentCountersSeen.getOrDefault(name, 0L);
            if (delta > 0) {
                stats.counter(name).addAndGet(delta);
            }
            parentCountersSeen.put(name, value);
        });
    }

    private interface ConfigStep {
        void run() throws ConfigException;
    }

    private void runOnDispatcher(ConfigStep step) throws ConfigException, InterruptedException {
        try {
            dispatcher.submit(() -> {
                step.run();
                return null;
            }).get();
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
        InetSocketAddress address = new InetSocketAddress(InetAddress.getByName(sa.getAddress()), sa.getPortValue());
        admin = AdminServer.start(address, this, log);
    }

    private Bootstrap withNodeOverrides(Bootstrap b) {
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
        log.critical("backtrace", "Caught Aborted, suspect faulting address 0x0 (" + why + ")");
        try {
            Libc.INSTANCE.kill(Libc.INSTANCE.getpid(), Libc.SIGABRT);
            Thread.sleep(2000);
        } catch (RuntimeException | InterruptedException e) {
            // fall through to halt
        }
        Runtime.getRuntime().halt(134);
    }

    void shutdown(int code, String why) {
        if (!shuttingDown.compareAndSet(false, true)) {
            return;
        }
        log.info("main", "shutting down: " + why);
        exitCode = code;
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
    public Map<String, Long> counters() {
        return stats.counterSnapshot();
    }

    @Override
    public void drainListeners() {
        log.info("main", "hot restart: stopping listeners and draining for " + options.drainTimeS() + " s");
        state = State.DRAINING;
        if (listeners != null) {
            drain(true);
        }
    }

    @Override
    public void terminate() {
        timers.execute(() -> shutdown(0, "terminated by the hot-restart child"));
    }

    private void drain(boolean stopFirst) {
        long drainMs = options.drainTimeS() * 1000L;
        if (stopFirst) {
            listeners.stopListeners();
        }
        listeners.startDrain(drainMs, options.drainStrategy() == SimulatorOptions.DrainStrategy.IMMEDIATE);
        timers.schedule(() -> {
            listeners.closeIdleConnections();
            if (!stopFirst) {
                listeners.stopListeners();
            }
        }, drainMs, TimeUnit.MILLISECONDS);
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
        ServerInfo info = ServerInfo.newBuilder()
                .setVersion(VERSION)
                .setState(ServerInfo.State.valueOf(state.name()))
                .setUptimeCurrentEpoch(Duration.newBuilder().setSeconds((now - startMillis) / 1000))
                .setUptimeAllEpochs(Duration.newBuilder().setSeconds((now - (hr == null ? startMillis : hr.originalStartMillis())) / 1000))
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
                .setDrainStrategy(options.drainStrategy() == SimulatorOptions.DrainStrategy.IMMEDIATE
                        ? CommandLineOptions.DrainStrategy.Immediate : CommandLineOptions.DrainStrategy.Gradual)
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
                    sb.append(c.name).append("::").append(h.key()).append("::health_flags::").append(flags).append('\n');
                    sb.append(c.name).append("::").append(h.key()).append("::weight::").append(h.weight).append('\n');
                    sb.append(c.name).append("::").append(h.key()).append("::rq_total::").append(h.rqTotal.get()).append('\n');
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
        stats.gauge("server.state").set(switch (state) {
            case LIVE -> 0;
            case DRAINING -> 1;
            case PRE_INITIALIZING -> 2;
            case INITIALIZING -> 3;
        });
        stats.gauge("server.uptime").set((System.currentTimeMillis() - startMillis) / 1000);
        stats.gauge("server.hot_restart_epoch").set(options.restartEpoch());
        stats.gauge("server.concurrency").set(options.concurrency());
        return stats;
    }

    @Override
    public String configDumpJson(boolean includeEds) {
        if (clusters == null || listeners == null) {
            return "{\"configs\":[]}";
        }
        try {
            return types.compactPrinter().print(AdminViews.configDump(bootstrap, bootstrapLoaded, clusters, listeners,
                    includeEds));
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
        timers.execute(() -> shutdown(0, "/quitquitquit"));
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }
}
