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
        config = write("bootstrap.json", Configs.staticBootstrap(adminPort,
                Configs.httpListener("web", httpPort, Configs.inlineRoutes(Configs.prefixRoute("/", "web"))) + ", "
                        + Configs.tcpListener("echo", tcpPort, "echo"),
                Configs.staticCluster("web", "STATIC", "", Configs.endpoint("127.0.0.1", a.port(), 1),
                        Configs.endpoint("127.0.0.1", b.port(), 1)) + ", "
                        + Configs.staticCluster("echo", "STRICT_DNS", "", Configs.endpoint("localhost", echo.port(), 1))));
    }

    @Test
    void twentyHotRestartsUnderLoadLoseNoRequestAndNoConnection() throws Exception {
        List<SimulatorProcess> epochs = new ArrayList<>();
        epochs.add(start(config, 0, DRAIN_S, PARENT_SHUTDOWN_S, env()));
        awaitLive(admin, 0, epochs.get(0));
        long started = System.nanoTime();
        LoadGenerator.Result result;
        try (LoadGenerator load = LoadGenerator.start(new LoadGenerator.Settings(httpPort, "/", 6, tcpPort, 2, 2))) {
            await().atMost(Duration.ofSeconds(10)).until(() -> load.snapshot().httpOk() > 100 && load.snapshot().tcpOk() > 20);
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
                assertThat(exitedAfterMs).isBetween(PARENT_SHUTDOWN_S * 1000L - 400, PARENT_SHUTDOWN_S * 1000L + 8000);
                assertThat(load.snapshot().failures()).as("failures so far: %s", load.snapshot().failureSamples()).isZero();
            }
            Thread.sleep(500);
            result = load.stop();
        }
        long seconds = (System.nanoTime() - started) / 1_000_000_000;
        System.out.printf("HOT RESTART LOAD: %d restarts in %d s: http ok=%d failed=%d (connections %d), "
                        + "tcp ok=%d failed=%d%n", RESTARTS, seconds, result.httpOk(), result.httpFailed(),
                result.httpConnections(), result.tcpOk(), result.tcpFailed());
        assertThat(result.failureSamples()).isEmpty();
        assertThat(result.failures()).isZero();
        assertThat(result.httpOk()).isGreaterThan(1000);
        assertThat(result.tcpOk()).isGreaterThan(100);
        // Counters are handed over from epoch to epoch, as Envoy does.
        assertThat(admin.stat("http.web.downstream_rq_total")).isGreaterThanOrEqualTo(result.httpOk() / 2);
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
        assertThat(e0.waitFor(Duration.ofSeconds(30))).as("epoch 0 terminated by epoch 2's start").isZero();
        awaitLive(admin, 2, e2);
        assertThat(e1.waitFor(Duration.ofSeconds(30))).as("epoch 1 exits at epoch 2's parent-shutdown time").isZero();
        assertThat(get("/")).isEqualTo(200);
    }

    @Test
    void childWithoutLiveParentFailsUnlessTold() throws Exception {
        // No shared memory at all for this base id.
        SimulatorProcess orphan = start(config, 1, 1, 2, env());
        assertThat(orphan.waitFor(STARTUP)).isNotZero();
        assertThat(orphan.log()).contains("cannot open shared memory region");

        // Shared memory left by an epoch 0 that has exited: told to, the child starts alone.
        SimulatorProcess e0 = start(config, 0, 1, 2, env());
        awaitLive(admin, 0, e0);
        assertThat(e0.stop(Duration.ofSeconds(20))).isZero();
        SimulatorProcess skip = start(config, 1, 1, 2,
                env("ENVOY_SIM_PARENT_CONNECT_ATTEMPTS", "1"), "--skip-hot-restart-on-no-parent");
        awaitLive(admin, 1, skip);
        assertThat(get("/")).isEqualTo(200);
        assertThat(skip.stop(Duration.ofSeconds(20))).isZero();

        // Not told to: the parent socket refuses, the child gives up after its retries...
        SimulatorProcess gap = start(config, 2, 1, 2,
                env("ENVOY_SIM_PARENT_CONNECT_ATTEMPTS", "2", "ENVOY_SIM_PARENT_CONNECT_INTERVAL_MS", "100"));
        assertThat(gap.waitFor(STARTUP)).isNotZero();
        assertThat(gap.log()).contains("unable to connect to the parent process");
        // ...having set INITIALIZING, which it never clears: like Envoy, only a fresh epoch 0 recovers.
        SimulatorProcess after = start(config, 2, 1, 2, env(), "--skip-hot-restart-on-no-parent");
        assertThat(after.waitFor(STARTUP)).isNotZero();
        assertThat(after.log()).contains("previous envoy process is still initializing");
        SimulatorProcess fresh = start(config, 0, 1, 2, env());
        awaitLive(admin, 0, fresh);
    }

    @Test
    void hotRestartVersionMismatchIsRefusedAndTheParentKeepsServing() throws Exception {
        SimulatorProcess e0 = start(config, 0, 1, 2, env());
        awaitLive(admin, 0, e0);
        SimulatorProcess upgraded = start(config, 1, 1, 2, env("ENVOY_SIM_HOT_RESTART_VERSION", "12.104"));
        assertThat(upgraded.waitFor(STARTUP)).isNotZero();
        assertThat(upgraded.log()).contains("version mismatch");
        assertThat(admin.epochState()).isEqualTo(new AdminClient.EpochState(0, "LIVE"));
        assertThat(get("/")).isEqualTo(200);
    }

    @Test
    void crashDuringHotRestartLeavesInitializingStuck() throws Exception {
        SimulatorProcess e0 = start(config, 0, 1, 2, env());
        awaitLive(admin, 0, e0);
        SimulatorProcess crashing = start(config, 1, 1, 2, env("ENVOY_SIM_CRASH_DURING_HOT_RESTART", "1"));
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
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }
}
