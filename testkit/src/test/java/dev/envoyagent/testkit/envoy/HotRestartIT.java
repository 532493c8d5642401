package dev.envoyagent.testkit.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.envoyagent.testkit.AdminClient;
import dev.envoyagent.testkit.HttpBackend;
import dev.envoyagent.testkit.LoadGenerator;
import dev.envoyagent.testkit.Ports;
import dev.envoyagent.testkit.SimulatorProcess;
import dev.envoyagent.testkit.TcpEchoBackend;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class HotRestartIT extends ItSupport {
  private static final int RESTARTS = 20;
  private static final int DRAIN_S = 1;
  private static final int PARENT_SHUTDOWN_S = 2;

  private int adminPort;
  private int httpPort;
  private int tcpPort;
  private Path config;
  private AdminClient admin;

  @BeforeEach
  void setUp() throws Exception {
    HttpBackend a = closeLater(HttpBackend.start("a"));
    HttpBackend b = closeLater(HttpBackend.start("b"));
    TcpEchoBackend echo = closeLater(TcpEchoBackend.start());
    adminPort = Ports.free();
    httpPort = Ports.free();
    tcpPort = Ports.free();
    admin = new AdminClient(adminPort);
    config =
        write(
            "bootstrap.json",
            withFastStatsFlush(
                Configs.staticBootstrap(
                    adminPort,
                    Configs.httpListener(
                            "web", httpPort, Configs.inlineRoutes(Configs.prefixRoute("/", "web")))
                        + ", "
                        + Configs.tcpListener("echo", tcpPort, "echo"),
                    Configs.staticCluster(
                            "web",
                            "STATIC",
                            "",
                            Configs.endpoint("127.0.0.1", a.port(), 1),
                            Configs.endpoint("127.0.0.1", b.port(), 1))
                        + ", "
                        + Configs.staticCluster(
                            "echo",
                            "STRICT_DNS",
                            "",
                            Configs.endpoint("localhost", echo.port(), 1)))));
  }

  /** Envoy merges the parent's stats at every stats flush (5 s by default): make it frequent. */
  private static String withFastStatsFlush(String bootstrap) {
    return "{\"stats_flush_interval\": \"0.2s\", " + bootstrap.substring(1);
  }

  @Test
  void twentyHotRestartsUnderLoadLoseNoRequestAndNoConnection() throws Exception {
    List<SimulatorProcess> epochs = new ArrayList<>();
    epochs.add(start(config, 0, DRAIN_S, PARENT_SHUTDOWN_S, env()));
    awaitLive(admin, 0, epochs.get(0));
    long started = System.nanoTime();
    LoadGenerator.Result result;
    try (LoadGenerator load =
        LoadGenerator.start(new LoadGenerator.Settings(httpPort, "/", 6, tcpPort, 2, 2))) {
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> load.snapshot().httpOk() > 100 && load.snapshot().tcpOk() > 20);
      for (int epoch = 1; epoch <= RESTARTS; epoch++) {
        SimulatorProcess child = start(config, epoch, DRAIN_S, PARENT_SHUTDOWN_S, env());
        epochs.add(child);
        awaitLive(admin, epoch, child);
        long liveSeen = System.nanoTime();
        SimulatorProcess parent = epochs.get(epoch - 1);
        int code = parent.waitFor(Duration.ofSeconds(30));
        long exitedAfterMs = (System.nanoTime() - liveSeen) / 1_000_000;
        assertThat(code).as("epoch %d exit code; log:%n%s", epoch - 1, parent.log()).isZero();
        // The parent leaves at parent-shutdown time, counted from the child going LIVE.
        assertThat(exitedAfterMs)
            .isBetween(PARENT_SHUTDOWN_S * 1000L - 400, PARENT_SHUTDOWN_S * 1000L + 8000);
        assertThat(load.snapshot().failures())
            .as("failures so far: %s", load.snapshot().failureSamples())
            .isZero();
      }
      Thread.sleep(500);
      result = load.stop();
    }
    long seconds = (System.nanoTime() - started) / 1_000_000_000;
    System.out.printf(
        "HOT RESTART LOAD: %d restarts in %d s: http ok=%d failed=%d (connections %d), "
            + "tcp ok=%d failed=%d%n",
        RESTARTS,
        seconds,
        result.httpOk(),
        result.httpFailed(),
        result.httpConnections(),
        result.tcpOk(),
        result.tcpFailed());
    assertThat(result.failureSamples()).isEmpty();
    assertThat(result.failures()).isZero();
    assertThat(result.httpOk()).isGreaterThan(1000);
    assertThat(result.tcpOk()).isGreaterThan(100);
    // Counters are handed over from epoch to epoch, as Envoy does.
    assertThat(admin.stat("http.web.downstream_rq_total"))
        .isGreaterThanOrEqualTo(result.httpOk() / 2);
    assertThat(epochs.get(RESTARTS).isAlive()).isTrue();
  }

  @Test
  void startingEpochTwoTerminatesEpochZeroStillAlive() throws Exception {
    SimulatorProcess e0 = start(config, 0, 1, 60, env());
    awaitLive(admin, 0, e0);
    SimulatorProcess e1 = start(config, 1, 1, 60, env());
    awaitLive(admin, 1, e1);
    assertThat(e0.isAlive()).as("epoch 0 drains but lives until parent-shutdown time").isTrue();
    SimulatorProcess e2 = start(config, 2, 1, 1, env());
    assertThat(e0.waitFor(Duration.ofSeconds(30)))
        .as("epoch 0 terminated by epoch 2's start")
        .isZero();
    awaitLive(admin, 2, e2);
    assertThat(e1.waitFor(Duration.ofSeconds(30)))
        .as("epoch 1 exits at epoch 2's parent-shutdown time")
        .isZero();
    assertThat(get("/")).isEqualTo(200);
  }

  @Test
  void childWithoutLiveParentFailsUnlessTold() throws Exception {
    // No shared memory at all for this base id: Envoy panics (abort) while attaching it, before it
    // looks at --skip-hot-restart-on-no-parent.
    SimulatorProcess orphan = start(config, 1, 1, 2, env(), "--skip-hot-restart-on-no-parent");
    assertThat(orphan.waitFor(STARTUP)).as("abort").isEqualTo(134);
    assertThat(orphan.log())
        .contains("panic: cannot open shared memory region /envoy_shared_memory_" + baseId * 10);

    // Shared memory left by an epoch 0 that has exited: told to, the child starts alone.
    SimulatorProcess e0 = start(config, 0, 1, 2, env());
    awaitLive(admin, 0, e0);
    assertThat(e0.stop(Duration.ofSeconds(20))).isZero();
    SimulatorProcess skip =
        start(
            config,
            1,
            1,
            2,
            env("ENVOY_SIM_PARENT_CONNECT_ATTEMPTS", "1"),
            "--skip-hot-restart-on-no-parent");
    awaitLive(admin, 1, skip);
    assertThat(get("/")).isEqualTo(200);
    assertThat(skip.stop(Duration.ofSeconds(20))).isZero();

    // Not told to: the parent socket refuses, the child retries the send, then aborts...
    SimulatorProcess gap =
        start(
            config,
            2,
            1,
            2,
            env(
                "ENVOY_SIM_PARENT_CONNECT_ATTEMPTS",
                "2",
                "ENVOY_SIM_PARENT_CONNECT_INTERVAL_MS",
                "100"));
    assertThat(gap.waitFor(STARTUP)).as("abort").isEqualTo(134);
    assertThat(gap.log())
        .contains("hot restart sendmsg() connection refused, retrying")
        .contains("hot restart sendmsg() failed: returned -1, errno 111");
    // ...having set INITIALIZING, which it never clears: like Envoy, only a fresh epoch 0 recovers.
    SimulatorProcess after = start(config, 2, 1, 2, env(), "--skip-hot-restart-on-no-parent");
    assertThat(after.waitFor(STARTUP)).as("EnvoyException: exit 1").isEqualTo(1);
    assertThat(after.log()).contains("previous envoy process is still initializing");
    SimulatorProcess fresh = start(config, 0, 1, 2, env());
    awaitLive(admin, 0, fresh);
  }

  @Test
  void hotRestartVersionOrSizeMismatchAbortsAndTheParentKeepsServing() throws Exception {
    SimulatorProcess e0 = start(config, 0, 1, 2, env());
    awaitLive(admin, 0, e0);
    // "<version>.<shared memory size>": each half is a RELEASE_ASSERT in attachSharedMemory.
    SimulatorProcess upgraded =
        start(config, 1, 1, 2, env("ENVOY_SIM_HOT_RESTART_VERSION", "12.104"));
    assertThat(upgraded.waitFor(STARTUP)).as("abort").isEqualTo(134);
    assertThat(upgraded.log())
        .contains(
            "Hot restart version mismatch! You must have hot restarted into a "
                + "not-hot-restart-compatible new version of Envoy.");
    SimulatorProcess resized =
        start(config, 1, 1, 2, env("ENVOY_SIM_HOT_RESTART_VERSION", "11.200"));
    assertThat(resized.waitFor(STARTUP)).as("abort").isEqualTo(134);
    assertThat(resized.log()).contains("Hot restart SharedMemory size mismatch!");
    // Both died before touching the parent or the INITIALIZING flag.
    assertThat(admin.epochState()).isEqualTo(new AdminClient.EpochState(0, "LIVE"));
    assertThat(get("/")).isEqualTo(200);
    SimulatorProcess e1 = start(config, 1, 1, 2, env());
    awaitLive(admin, 1, e1);
  }

  @Test
  void aStartingChildStoppedBySigtermTakesItsParentDown() throws Exception {
    SimulatorProcess e0 = start(config, 0, 1, 60, env());
    awaitLive(admin, 0, e0);
    SimulatorProcess e1 = start(config, 1, 1, 60, env("ENVOY_SIM_NEVER_LIVE", "1"));
    await()
        .atMost(STARTUP)
        .until(() -> new AdminClient.EpochState(1, "INITIALIZING").equals(admin.epochState()));
    e1.signal("TERM");
    // InstanceImpl::shutdown sends the terminate request; the parent SIGTERMs itself.
    assertThat(e1.waitFor(Duration.ofSeconds(30))).isZero();
    assertThat(e0.waitFor(Duration.ofSeconds(30))).as("the serving parent exits too").isZero();
    assertThat(e0.log()).contains("shutting down due to child request");
    // The child never cleared INITIALIZING: the next child of this base id is refused.
    SimulatorProcess e2 = start(config, 2, 1, 60, env());
    assertThat(e2.waitFor(STARTUP)).isEqualTo(1);
    assertThat(e2.log()).contains("previous envoy process is still initializing");
    SimulatorProcess fresh = start(config, 0, 1, 60, env());
    awaitLive(admin, 0, fresh);
    assertThat(get("/")).isEqualTo(200);
  }

  @Test
  void aStartingChildQuitByAdminTakesItsParentDown() throws Exception {
    SimulatorProcess e0 = start(config, 0, 1, 60, env());
    awaitLive(admin, 0, e0);
    SimulatorProcess e1 = start(config, 1, 1, 60, env("ENVOY_SIM_INIT_DELAY_MS", "60000"));
    await()
        .atMost(STARTUP)
        .until(() -> new AdminClient.EpochState(1, "INITIALIZING").equals(admin.epochState()));
    assertThat(admin.post("/quitquitquit").status()).isEqualTo(200);
    assertThat(e1.waitFor(Duration.ofSeconds(30))).isZero();
    assertThat(e0.waitFor(Duration.ofSeconds(30))).as("the serving parent exits too").isZero();
  }

  @Test
  void aStartingChildKilledBySigkillLeavesItsParentServingAndTheFlagSet() throws Exception {
    SimulatorProcess e0 = start(config, 0, 1, 60, env());
    awaitLive(admin, 0, e0);
    SimulatorProcess e1 = start(config, 1, 1, 60, env("ENVOY_SIM_NEVER_LIVE", "1"));
    await()
        .atMost(STARTUP)
        .until(() -> new AdminClient.EpochState(1, "INITIALIZING").equals(admin.epochState()));
    e1.close(); // SIGKILL: nothing is sent to the parent
    assertThat(e1.waitFor(Duration.ofSeconds(30))).isEqualTo(137);
    Thread.sleep(500);
    assertThat(e0.isAlive()).isTrue();
    assertThat(get("/")).as("the parent still serves (its admin stays shut)").isEqualTo(200);
    SimulatorProcess retry = start(config, 1, 1, 60, env());
    assertThat(retry.waitFor(STARTUP)).isEqualTo(1);
    assertThat(retry.log()).contains("previous envoy process is still initializing");
    assertThat(e0.isAlive()).isTrue();
    // Only a fresh epoch 0 recovers (after the old family is stopped: it holds the ports).
    assertThat(e0.stop(Duration.ofSeconds(20))).isZero();
    SimulatorProcess fresh = start(config, 0, 1, 60, env());
    awaitLive(admin, 0, fresh);
  }

  @Test
  void aChildWhoseParentVanishesAbortsAtItsNextStatsFlush() throws Exception {
    SimulatorProcess e0 = start(config, 0, 1, 60, env());
    awaitLive(admin, 0, e0);
    SimulatorProcess e1 =
        start(
            config,
            1,
            1,
            60,
            env(
                "ENVOY_SIM_PARENT_CONNECT_ATTEMPTS",
                "3",
                "ENVOY_SIM_PARENT_CONNECT_INTERVAL_MS",
                "100"));
    awaitLive(admin, 1, e1);
    e0.close(); // SIGKILL during the parent-shutdown window
    assertThat(e1.waitFor(Duration.ofSeconds(30)))
        .as("RpcStream::sendHotRestartMessage aborts")
        .isEqualTo(134);
    assertThat(e1.log())
        .contains("hot restart sendmsg() connection refused, retrying")
        .contains("assert failure: false. Details: hot restart sendmsg() failed");
  }

  @Test
  void parentCountersAndGaugesMergeAtEveryFlushUntilTheParentIsTerminated() throws Exception {
    SimulatorProcess e0 = start(config, 0, 30, 3, env());
    awaitLive(admin, 0, e0);
    try (java.net.Socket keepAlive = new java.net.Socket("127.0.0.1", httpPort)) {
      keepAlive.setSoTimeout(10_000);
      for (int i = 0; i < 5; i++) {
        exchange(keepAlive);
      }
      assertThat(admin.stat("http.web.downstream_cx_active")).isEqualTo(1);
      SimulatorProcess e1 = start(config, 1, 30, 3, env());
      awaitLive(admin, 1, e1);
      // Within a flush or two: counters by delta, Accumulate gauges as own + parent.
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> admin.stat("http.web.downstream_rq_total") >= 5);
      assertThat(admin.stat("http.web.downstream_cx_active"))
          .as("the parent's open connection")
          .isEqualTo(1);
      assertThat(admin.stat("server.hot_restart_generation")).isEqualTo(2);
      // NeverImport gauges are the child's own.
      assertThat(admin.stat("server.live")).isEqualTo(1);
      assertThat(admin.stat("server.hot_restart_epoch")).isEqualTo(1);
      assertThat(admin.stat("cluster.web.membership_total")).isEqualTo(2);
      // Terminated at parent-shutdown time: its gauge share leaves, the counters stay.
      assertThat(e0.waitFor(Duration.ofSeconds(30))).isZero();
      assertThat(admin.stat("http.web.downstream_cx_active")).isZero();
      assertThat(admin.stat("server.hot_restart_generation"))
          .as("retainParentGaugeValue")
          .isEqualTo(2);
      assertThat(admin.stat("http.web.downstream_rq_total")).isGreaterThanOrEqualTo(5);
    }
  }

  /**
   * hot_restart_impl.cc: prctl(PR_SET_PDEATHSIG, SIGTERM), so Envoy gets SIGTERM when the thread
   * that spawned it ends.
   */
  @Test
  void theParentDeathSignalStopsAnEpochWhoseSpawningThreadEnded() throws Exception {
    java.util.List<String> command =
        new ArrayList<>(List.of(SimulatorProcess.launcher().toString()));
    command.addAll(SimulatorProcess.flags(config, baseId, 0, 1, 2));
    ProcessBuilder pb =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("orphaned.log").toFile());
    pb.environment().putAll(env());
    java.util.concurrent.atomic.AtomicReference<Process> spawned =
        new java.util.concurrent.atomic.AtomicReference<>();
    java.util.concurrent.CountDownLatch live = new java.util.concurrent.CountDownLatch(1);
    Thread spawner =
        new Thread(
            () -> {
              try {
                spawned.set(pb.start());
                live.await(); // the thread ends once the epoch is LIVE
              } catch (java.io.IOException | InterruptedException e) {
                throw new IllegalStateException(e);
              }
            });
    spawner.start();
    try {
      await()
          .atMost(STARTUP)
          .until(() -> new AdminClient.EpochState(0, "LIVE").equals(admin.epochState()));
      live.countDown();
      spawner.join();
      assertThat(spawned.get().waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
      assertThat(spawned.get().exitValue()).as("SIGTERM: a clean shutdown").isZero();
      assertThat(java.nio.file.Files.readString(dir.resolve("orphaned.log")))
          .contains("caught SIGTERM");
    } finally {
      live.countDown();
      if (spawned.get() != null) {
        spawned.get().destroyForcibly();
      }
    }
  }

  private static void exchange(java.net.Socket socket) throws java.io.IOException {
    socket
        .getOutputStream()
        .write(
            "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
                .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
    java.io.InputStream in = socket.getInputStream();
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int c = in.read();
      if (c < 0) {
        throw new java.io.EOFException(head.toString());
      }
      head.append((char) c);
    }
    String lower = head.toString().toLowerCase(java.util.Locale.ROOT);
    int at = lower.indexOf("content-length:");
    in.readNBytes(Integer.parseInt(lower.substring(at + 15, lower.indexOf("\r\n", at)).trim()));
  }

  @Test
  void crashDuringHotRestartLeavesInitializingStuck() throws Exception {
    SimulatorProcess e0 = start(config, 0, 1, 2, env());
    awaitLive(admin, 0, e0);
    SimulatorProcess crashing =
        start(config, 1, 1, 2, env("ENVOY_SIM_CRASH_DURING_HOT_RESTART", "1"));
    int code = crashing.waitFor(STARTUP);
    assertThat(code).as("killed by SIGABRT").isEqualTo(134);
    // The parent shut its admin for the child, but still carries traffic.
    assertThat(admin.epochState()).isNull();
    assertThat(get("/")).isEqualTo(200);
    SimulatorProcess retry = start(config, 1, 1, 2, env());
    assertThat(retry.waitFor(STARTUP)).isNotZero();
    assertThat(retry.log()).contains("previous envoy process is still initializing");
    assertThat(e0.isAlive()).isTrue();
  }

  @Test
  void stuckInitializingFaultBlocksTheNextHotRestart() throws Exception {
    SimulatorProcess e0 = start(config, 0, 1, 2, env("ENVOY_SIM_STUCK_INITIALIZING", "1"));
    awaitLive(admin, 0, e0);
    SimulatorProcess e1 = start(config, 1, 1, 2, env());
    assertThat(e1.waitFor(STARTUP)).isNotZero();
    assertThat(e1.log()).contains("previous envoy process is still initializing");
    assertThat(admin.epochState()).isEqualTo(new AdminClient.EpochState(0, "LIVE"));
  }

  private int get(String path) throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }
}
