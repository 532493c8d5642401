package dev.envoyagent.testkit.envoy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.envoyagent.testkit.SimulatorProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code --mode validate}, {@code --hot-restart-version} and flag parsing, against the built launcher. */
class ValidateIT extends ItSupport {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private SimulatorProcess.Result validate(Path config, Map<String, String> env) throws Exception {
        return SimulatorProcess.run(List.of("--mode", "validate", "-c", config.toString()), env, TIMEOUT);
    }

    private String staticConfig(String routeCluster, String tcpCluster) {
        return Configs.staticBootstrap(9901,
                Configs.httpListener("web", 10000, Configs.inlineRoutes(Configs.prefixRoute("/", routeCluster))) + ", "
                        + Configs.tcpListener("tcp", 10001, tcpCluster),
                Configs.staticCluster("a", "STRICT_DNS", "", Configs.endpoint("localhost", 8080, 1)));
    }

    @Test
    void acceptsGoodConfigsInBothDeliveryShapesAndYaml() throws Exception {
        SimulatorProcess.Result r = validate(write("good.json", staticConfig("a", "a")), Map.of());
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).contains("configuration '").contains("' OK");

        Path xds = dir.resolve("xds");
        Path eds = write("xds/eds/a.json", Configs.discovery("1", Configs.endpointType(),
                Configs.loadAssignment("a", Configs.endpoint("127.0.0.1", 8080, 1))));
        Path rds = write("xds/rds/web.json", Configs.discovery("1", Configs.routeType(),
                Configs.routeConfiguration("web", Configs.prefixRoute("/", "a"))));
        Path cds = write("xds/cds.json", Configs.discovery("1", Configs.clusterType(), Configs.edsCluster("a", eds.toString())));
        Path lds = write("xds/lds.json", Configs.discovery("1", Configs.listenerType(),
                Configs.httpListener("web", 10000, Configs.rds(rds.toString(), "web"))));
        r = validate(write("files.json", Configs.filesBootstrap(9901, lds.toString(), cds.toString())), Map.of());
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(xds).isDirectory();

        r = validate(write("good.yaml", """
                admin: {address: {socket_address: {address: 127.0.0.1, port_value: 9901}}}
                static_resources:
                  clusters:
                  - name: a
                    type: STATIC
                    connect_timeout: 0.25s
                    load_assignment: {cluster_name: a, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 1}}}}]}]}
                """), Map.of());
        assertThat(r.exitCode()).as(r.output()).isZero();
    }

    @Test
    void rejectsBadConfigsWithAnEnvoyLikeLine() throws Exception {
        String good = staticConfig("a", "a");
        List<String[]> cases = new ArrayList<>();
        cases.add(new String[] {good.replace("\"connect_timeout\"", "\"no_such_field\": 1, \"connect_timeout\""), "no_such_field"});
        cases.add(new String[] {good.replace("\"STRICT_DNS\"", "\"ROUND_DNS\""), "ROUND_DNS"});
        cases.add(new String[] {good.replace("tcp_proxy.v3.TcpProxy", "tcp_proxy.v3.NoSuchProxy"), "NoSuchProxy"});
        cases.add(new String[] {staticConfig("missing", "a"), "unknown cluster 'missing'"});
        cases.add(new String[] {staticConfig("a", "missing"), "unknown cluster 'missing'"});
        cases.add(new String[] {Configs.filesBootstrap(9901, dir.resolve("nope/lds.json").toString(),
                dir.resolve("nope/cds.json").toString()), "does not exist"});
        cases.add(new String[] {"{ broken", "Unable to parse"});
        for (int i = 0; i < cases.size(); i++) {
            SimulatorProcess.Result r = validate(write("bad-" + i + ".json", cases.get(i)[0]), Map.of());
            assertThat(r.exitCode()).as("case %d: %s", i, r.output()).isEqualTo(1);
            assertThat(r.output()).as("case %d", i).contains("[critical]").contains("error initializing configuration")
                    .contains(cases.get(i)[1]);
        }
        SimulatorProcess.Result r = validate(write("good.json", good), Map.of("ENVOY_SIM_REJECT_ALL_CONFIG", "1"));
        assertThat(r.exitCode()).isEqualTo(1);
    }

    @Test
    void hotRestartVersionIsPrintedOnStderrAndSettable() throws Exception {
        SimulatorProcess.Result r = SimulatorProcess.run(List.of("--hot-restart-version"), Map.of(), TIMEOUT);
        assertThat(r.exitCode()).isZero();
        assertThat(r.output().trim()).isEqualTo("11.104");
        r = SimulatorProcess.run(List.of("--hot-restart-version"), Map.of("ENVOY_SIM_HOT_RESTART_VERSION", "12.7"), TIMEOUT);
        assertThat(r.output().trim()).isEqualTo("12.7");
    }

    @Test
    void unknownFlagsAndValuesAreRefused() throws Exception {
        SimulatorProcess.Result r = SimulatorProcess.run(List.of("--no-such-flag"), Map.of(), TIMEOUT);
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.output()).contains("PARSE ERROR: Argument: --no-such-flag");
        r = SimulatorProcess.run(List.of("--mode", "dance", "-c", "x.json"), Map.of(), TIMEOUT);
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.output()).contains("unknown mode 'dance'");
    }
}
