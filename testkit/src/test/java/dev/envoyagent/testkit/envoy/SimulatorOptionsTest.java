package dev.envoyagent.testkit.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class SimulatorOptionsTest {
  @Test
  void parsesTheFlagsTheAgentUses() throws Exception {
    SimulatorOptions o =
        SimulatorOptions.parse(
            List.of(
                "-c",
                "/etc/envoy.json",
                "--mode",
                "serve",
                "--restart-epoch",
                "3",
                "--base-id=42",
                "--drain-time-s",
                "5",
                "--parent-shutdown-time-s",
                "10",
                "--drain-strategy",
                "immediate",
                "--concurrency",
                "2",
                "--log-path",
                "/tmp/e.log",
                "--service-node",
                "n",
                "--service-cluster",
                "c",
                "--service-zone",
                "z",
                "--skip-hot-restart-on-no-parent",
                "-l",
                "debug"));
    assertThat(o.configPath()).isEqualTo("/etc/envoy.json");
    assertThat(o.mode()).isEqualTo(SimulatorOptions.Mode.SERVE);
    assertThat(o.restartEpoch()).isEqualTo(3);
    assertThat(o.baseId()).isEqualTo(42);
    assertThat(o.drainTimeS()).isEqualTo(5);
    assertThat(o.parentShutdownTimeS()).isEqualTo(10);
    assertThat(o.drainStrategy()).isEqualTo(SimulatorOptions.DrainStrategy.IMMEDIATE);
    assertThat(o.concurrency()).isEqualTo(2);
    assertThat(o.logPath()).isEqualTo("/tmp/e.log");
    assertThat(o.serviceNode() + o.serviceCluster() + o.serviceZone()).isEqualTo("ncz");
    assertThat(o.skipHotRestartOnNoParent()).isTrue();
    assertThat(o.logLevel()).isEqualTo("debug");
  }

  @Test
  void defaultsAreEnvoys() throws Exception {
    SimulatorOptions o = SimulatorOptions.parse(List.of("--hot-restart-version"));
    assertThat(o.hotRestartVersion()).isTrue();
    assertThat(o.restartEpoch()).isZero();
    assertThat(o.drainTimeS()).isEqualTo(600);
    assertThat(o.parentShutdownTimeS()).isEqualTo(900);
    assertThat(o.drainStrategy()).isEqualTo(SimulatorOptions.DrainStrategy.GRADUAL);
    assertThat(o.mode()).isEqualTo(SimulatorOptions.Mode.SERVE);
  }

  @Test
  void refusesWhatEnvoyRefuses() {
    assertThatThrownBy(() -> SimulatorOptions.parse(List.of("--bogus")))
        .hasMessageStartingWith("PARSE ERROR: Argument: --bogus");
    assertThatThrownBy(() -> SimulatorOptions.parse(List.of("positional")))
        .hasMessageContaining("Couldn't find match");
    assertThatThrownBy(() -> SimulatorOptions.parse(List.of("--restart-epoch", "x")))
        .hasMessageContaining("Couldn't read argument value");
    assertThatThrownBy(() -> SimulatorOptions.parse(List.of("--mode", "dance")))
        .hasMessageContaining("unknown mode 'dance'");
    assertThatThrownBy(() -> SimulatorOptions.parse(List.of("--drain-strategy", "slow")))
        .hasMessageContaining("unknown drain strategy");
    assertThatThrownBy(() -> SimulatorOptions.parse(List.of("-c")))
        .hasMessageContaining("Missing a value");
    assertThatThrownBy(
            () -> SimulatorOptions.parse(List.of("--use-dynamic-base-id", "--restart-epoch", "1")))
        .hasMessageContaining("--use-dynamic-base-id");
  }
}
