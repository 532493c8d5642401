package dev.envoyagent.controlplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class HostPortTest {

  @Test
  void parsesV4V6AndFormatsBack() {
    assertThat(HostPort.format(HostPort.parse("127.0.0.1:18000"))).isEqualTo("127.0.0.1:18000");
    assertThat(HostPort.format(HostPort.parse("[::1]:0"))).isEqualTo("[0:0:0:0:0:0:0:1]:0");
    assertThat(HostPort.parse(HostPort.format(HostPort.parse("[::1]:7"))))
        .isEqualTo(HostPort.parse("[::1]:7"));
  }

  @Test
  void refusesWhatIsNotHostPort() {
    assertThatThrownBy(() -> HostPort.parse("18000")).hasMessageContaining("host:port");
    assertThatThrownBy(() -> HostPort.parse("::1:80")).hasMessageContaining("brackets");
    assertThatThrownBy(() -> HostPort.parse("h:x")).hasMessageContaining("number");
    assertThatThrownBy(() -> HostPort.parse("h:70000")).hasMessageContaining("0-65535");
  }
}
