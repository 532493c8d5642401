package dev.envoyagent.testkit.envoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ENVOY_SIM_HOSTS_FILE: lookups answered from a hosts(5) file, names it lacks fail like NXDOMAIN.
 */
class DnsTest {
  @TempDir Path dir;

  @Test
  void answersFromTheHostsFileOnly() throws Exception {
    Path hosts =
        Files.writeString(
            dir.resolve("hosts"),
            "# test\n127.0.0.1 backend.test alias.test\n"
                + "127.0.0.2 backend.test # second address\n::1 v6.test\nbad line\n");
    Dns dns = new Dns(hosts);
    assertThat(dns.resolve("Backend.Test"))
        .containsExactly(InetAddress.getByName("127.0.0.1"), InetAddress.getByName("127.0.0.2"));
    assertThat(dns.resolve("alias.test")).containsExactly(InetAddress.getByName("127.0.0.1"));
    assertThat(dns.resolve("v6.test")).containsExactly(InetAddress.getByName("::1"));
    assertThat(dns.resolve("10.1.2.3")).containsExactly(InetAddress.getByName("10.1.2.3"));
    assertThatThrownBy(() -> dns.resolve("localhost")).isInstanceOf(UnknownHostException.class);
    assertThatThrownBy(() -> dns.resolve("example.com")).isInstanceOf(UnknownHostException.class);
  }
}
