package dev.envoyagent.testkit.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.envoyagent.testkit.AdminClient;
import dev.envoyagent.testkit.HttpBackend;
import dev.envoyagent.testkit.Ports;
import dev.envoyagent.testkit.SimulatorProcess;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The misbehaviours tests of the agent can ask for through the environment. */
class FaultsIT extends ItSupport {
  private AdminClient admin;
  private int adminPort;
  private int httpPort;
  private Path config;

  @BeforeEach
  void setUp() throws Exception {
    HttpBackend a = closeLater(HttpBackend.start("a"));
    adminPort = Ports.free();
    httpPort = Ports.free();
    admin = new AdminClient(adminPort);
    config =
        write(
            "bootstrap.json",
            Configs.staticBootstrap(
                adminPort,
                Configs.httpListener(
                    "web", httpPort, Configs.inlineRoutes(Configs.prefixRoute("/", "a"))),
                Configs.staticCluster(
                    "a", "STATIC", "", Configs.endpoint("127.0.0.1", a.port(), 1))));
  }

  @Test
  void slowInitialisationShowsInitializingFirst() throws Exception {
    SimulatorProcess p = start(config, 0, 1, 2, env("ENVOY_SIM_INIT_DELAY_MS", "2500"));
    await().atMost(STARTUP).until(() -> admin.epochState() != null);
    assertThat(admin.get("/ready")).isEqualTo(new AdminClient.Response(503, "INITIALIZING\n"));
    awaitLive(admin, 0, p);
  }

  /**
   * server.cc serverState: PRE_INITIALIZING while the cluster manager initialises (a static cluster
   * waits for its first health-check round), INITIALIZING while the init manager runs, then LIVE.
   */
  @Test
  void stateGoesPreInitializingThenInitializingThenLive() throws Exception {
    try (java.net.ServerSocket blackHole =
        new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      // Connects (the kernel accepts into the backlog) but never answers: the check times out.
      String hc =
          ", \"health_checks\": [{\"timeout\": \"2s\", \"interval\": \"5s\", "
              + "\"unhealthy_threshold\": 1, \"healthy_threshold\": 1, \"http_health_check\": {\"path\": \"/health\"}}]";
      Path slow =
          write(
              "slow-clusters.json",
              Configs.staticBootstrap(
                  adminPort,
                  Configs.httpListener(
                      "web", httpPort, Configs.inlineRoutes(Configs.prefixRoute("/", "checked"))),
                  Configs.staticCluster(
                      "checked",
                      "STATIC",
                      hc,
                      Configs.endpoint("127.0.0.1", blackHole.getLocalPort(), 1))));
      SimulatorProcess p = start(slow, 0, 1, 2, env("ENVOY_SIM_INIT_DELAY_MS", "1500"));
      java.util.List<String> seen = new java.util.ArrayList<>();
      await()
          .atMost(STARTUP)
          .pollInterval(Duration.ofMillis(50))
          .until(
              () -> {
                if (!p.isAlive()) {
                  throw new AssertionError("exited: " + p.log());
                }
                AdminClient.EpochState s = admin.epochState();
                if (s != null && (seen.isEmpty() || !seen.get(seen.size() - 1).equals(s.state()))) {
                  seen.add(s.state());
                }
                return s != null && "LIVE".equals(s.state());
              });
      assertThat(seen).containsSubsequence("PRE_INITIALIZING", "INITIALIZING", "LIVE");
      assertThat(seen.get(0)).isEqualTo("PRE_INITIALIZING");
    }
  }

  @Test
  void neverLiveStaysInitializingWithoutAcceptingTraffic() throws Exception {
    SimulatorProcess p = start(config, 0, 1, 2, env("ENVOY_SIM_NEVER_LIVE", "1"));
    await().atMost(STARTUP).until(() -> admin.epochState() != null);
    Thread.sleep(1000);
    assertThat(admin.serverInfo().path("state").asText()).isEqualTo("INITIALIZING");
    assertThat(canConnect(httpPort)).isFalse();
    assertThat(p.isAlive()).isTrue();
  }

  @Test
  void crashAfterAWhileDiesBySignal() throws Exception {
    SimulatorProcess p = start(config, 0, 1, 2, env("ENVOY_SIM_CRASH_AFTER_MS", "3000"));
    awaitLive(admin, 0, p);
    assertThat(p.waitFor(Duration.ofSeconds(30))).isEqualTo(134);
  }

  @Test
  void rejectAllConfigRejectsEveryFileUpdate() throws Exception {
    Path lds = write("xds/lds.json", Configs.discovery("1", Configs.listenerType()));
    Path cds = write("xds/cds.json", Configs.discovery("1", Configs.clusterType()));
    Path files =
        write("files.json", Configs.filesBootstrap(adminPort, lds.toString(), cds.toString()));
    SimulatorProcess p = start(files, 0, 1, 2, env("ENVOY_SIM_REJECT_ALL_CONFIG", "1"));
    awaitLive(admin, 0, p);
    assertThat(admin.stat("listener_manager.lds.update_rejected")).isEqualTo(1);
    assertThat(admin.stat("cluster_manager.cds.update_rejected")).isEqualTo(1);
    writeAtomically(cds, Configs.discovery("2", Configs.clusterType()));
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> admin.stat("cluster_manager.cds.update_rejected") == 2);
    assertThat(admin.stat("cluster_manager.cds.update_success")).isZero();
  }

  private static boolean canConnect(int port) {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      return socket.isConnected();
    } catch (java.io.IOException e) {
      return false;
    }
  }
}
