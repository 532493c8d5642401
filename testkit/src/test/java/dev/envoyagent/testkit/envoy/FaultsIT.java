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
        config = write("bootstrap.json", Configs.staticBootstrap(adminPort,
                Configs.httpListener("web", httpPort, Configs.inlineRoutes(Configs.prefixRoute("/", "a"))),
                Configs.staticCluster("a", "STATIC", "", Configs.endpoint("127.0.0.1", a.port(), 1))));
    }

    @Test
    void slowInitialisationShowsInitializingFirst() throws Exception {
        SimulatorProcess p = start(config, 0, 1, 2, env("ENVOY_SIM_INIT_DELAY_MS", "2500"));
        await().atMost(STARTUP).until(() -> admin.epochState() != null);
        assertThat(admin.get("/ready")).isEqualTo(new AdminClient.Response(503, "INITIALIZING\n"));
        awaitLive(admin, 0, p);
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
        Path files = write("files.json", Configs.filesBootstrap(adminPort, lds.toString(),
                cds.toString()));
        SimulatorProcess p = start(files, 0, 1, 2, env("ENVOY_SIM_REJECT_ALL_CONFIG", "1"));
        awaitLive(admin, 0, p);
        assertThat(admin.stat("listener_manager.lds.update_rejected")).isEqualTo(1);
        assertThat(admin.stat("cluster_manager.cds.update_rejected")).isEqualTo(1);
        writeAtomically(cds, Configs.discovery("2", Configs.clusterType()));
        await().atMost(Duration.ofSeconds(10)).until(() -> admin.stat("cluster_manager.cds.update_rejected") == 2);
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
