package dev.envoyagent.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class AppCdsTest {

  static final String MAPS =
      """
      7f1c2a000000-7f1c2c000000 r--p 00000000 fd:01 1234    /usr/lib/jvm/java-17/lib/server/classes.jsa
      800000000-801000000 rw-p 00001000 fd:01 5678    /var/cache/envoy-agent/envoy-agent.jsa
      7ffd0000-7ffd2000 rw-p 00000000 00:00 0    [stack]
      """;

  @Test
  void anArchiveTheJvmMappedIsInUse() {
    var check =
        AppCds.of(
            List.of("-Xmx256m", "-XX:SharedArchiveFile=/var/cache/envoy-agent/envoy-agent.jsa"),
            MAPS);
    assertThat(check.state()).isEqualTo(AppCds.State.MAPPED);
    assertThat(check.archive()).isEqualTo("/var/cache/envoy-agent/envoy-agent.jsa");
  }

  @Test
  void anArchiveTheJvmDidNotMapIsNotUsed() {
    var check = AppCds.of(List.of("-XX:SharedArchiveFile=/opt/agent/envoy-agent.jsa"), MAPS);
    assertThat(check.state()).isEqualTo(AppCds.State.NOT_USED);
  }

  @Test
  void noArchiveIsOff() {
    assertThat(AppCds.of(List.of("-Xmx256m"), MAPS).state()).isEqualTo(AppCds.State.OFF);
  }
}
