package dev.envoyagent.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class PortsTest {

  @Test
  void aPortIsHandedOutOncePerJvm() {
    // Ec2IT once got the same port for Envoy's admin and a listener, and the agent refused the
    // routes.
    assertThat(IntStream.range(0, 300).map(i -> Ports.free()).boxed())
        .doesNotHaveDuplicates()
        .allSatisfy(port -> assertThat(port).isBetween(1024, 65535));
  }
}
