package dev.envoyagent.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.envoyagent.config.AgentConfigLoader;
import dev.envoyagent.config.AgentSettings;
import dev.envoyagent.ec2.InstanceIdentity;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class HostIdentityTest {

  static final InstanceIdentity INSTANCE =
      new InstanceIdentity(
          "i-0123456789abcdef0",
          "us-east-1",
          "us-east-1c",
          "use1-az2",
          "10.1.2.3",
          "m7g.large",
          "ami-0abc",
          Map.of("team", "payments"),
          "{}",
          "sig");

  static AgentSettings settings(String node) throws Exception {
    String yaml = "node: " + node + "\nroutes: { file: r.yaml }\n";
    return AgentConfigLoader.parse(
        yaml.getBytes(StandardCharsets.UTF_8), Path.of("/etc/envoy-agent"), "agent.yaml");
  }

  @Test
  void instanceMetadataFillsWhatTheConfigLeavesOpen() throws Exception {
    AgentSettings resolved =
        new HostIdentity(Optional.of(INSTANCE)).applyTo(settings("{ id: auto, cluster: web }"));
    assertThat(resolved.node())
        .isEqualTo(
            new AgentSettings.NodeSettings("i-0123456789abcdef0", "web", "us-east-1c", "10.1.2.3"));
  }

  @Test
  void configuredValuesWin() throws Exception {
    AgentSettings resolved =
        new HostIdentity(Optional.of(INSTANCE))
            .applyTo(settings("{ id: host-7, cluster: web, zone: us-east-1a, address: 10.9.9.9 }"));
    assertThat(resolved.node())
        .isEqualTo(new AgentSettings.NodeSettings("host-7", "web", "us-east-1a", "10.9.9.9"));
  }

  @Test
  void offEc2AutoBecomesTheHostName() throws Exception {
    AgentSettings resolved =
        new HostIdentity(Optional.empty()).applyTo(settings("{ id: auto, cluster: web }"));
    assertThat(resolved.node().id()).isNotEqualTo("auto").isNotEmpty();
    assertThat(resolved.node().zone()).isEmpty();
  }
}
