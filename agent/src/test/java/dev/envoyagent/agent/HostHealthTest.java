package dev.envoyagent.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.envoyagent.api.v1.HeartbeatRequest;
import dev.envoyagent.api.v1.HostState;
import dev.envoyagent.config.AgentConfigLoader;
import dev.envoyagent.config.AgentSettings;
import dev.envoyagent.ec2.InstanceIdentity;
import dev.envoyagent.envoy.EnvoyAdmin;
import dev.envoyagent.envoy.EnvoyProcess;
import dev.envoyagent.metrics.AgentMetrics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HostHealthTest {

  @TempDir Path dir;
  final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();

  @AfterEach
  void stop() {
    executor.shutdownNow();
  }

  /** Envoy's admin API as far as heartbeats and draining use it; records the POSTs. */
  static final class FakeAdmin implements EnvoyAdmin {
    final List<String> posts = new ArrayList<>();

    @Override
    public ServerInfo serverInfo() {
      return new ServerInfo("LIVE", 0, "11.104", "1.34.0", 10);
    }

    @Override
    public JsonNode configDump() {
      throw new UnsupportedOperationException("heartbeats do not read it");
    }

    @Override
    public Map<String, String> stats(String filter) {
      return Map.of();
    }

    @Override
    public Map<String, UpstreamCount> upstreamHealth() {
      return Map.of("users-api", new UpstreamCount(2, 3));
    }

    @Override
    public boolean post(String pathAndQuery) {
      posts.add(pathAndQuery);
      return true;
    }
  }

  @Test
  void heartbeatsCarryIdentityUpstreamsAndTheDrainingState() throws Exception {
    String yaml =
        "node: { id: h1, cluster: web, zone: us-east-1c, address: 10.1.2.3 }\nroutes: { file: r.yaml }\n"
            + "state_dir: "
            + dir
            + "\n";
    AgentSettings settings =
        AgentConfigLoader.parse(yaml.getBytes(StandardCharsets.UTF_8), dir, "agent.yaml");
    StatusBoard status =
        new StatusBoard(dir.resolve("status.json"), System::currentTimeMillis, new AgentMetrics());
    status.supervisor(
        "SERVING",
        List.of(
            new EnvoyProcess(3, 4242, 1, "d", "11.104", 0, 2, System.currentTimeMillis() - 60_000)),
        "42",
        "");
    FakeAdmin admin = new FakeAdmin();
    InstanceIdentity instance =
        new InstanceIdentity(
            "i-0abc",
            "us-east-1",
            "us-east-1c",
            "use1-az2",
            "10.1.2.3",
            "m7g.large",
            "ami-1",
            Map.of("team", "payments"),
            "{\"instanceId\":\"i-0abc\"}",
            "MIIsig");
    HostHealth reporting = new HostHealth(settings, status, admin, executor, Optional.of(instance));

    HeartbeatRequest serving = reporting.heartbeat();
    assertThat(serving.getState()).isEqualTo(HostState.SERVING);
    assertThat(serving.getAppliedVersion()).isEqualTo("42");
    assertThat(serving.getEnvoyState()).isEqualTo("LIVE");
    assertThat(serving.getEpochs(0).getEpoch()).isEqualTo(3);
    assertThat(serving.getEpochs(0).getUptimeS()).isBetween(59L, 70L);
    assertThat(serving.getUpstreams(0).getService()).isEqualTo("users-api");
    assertThat(serving.getUpstreams(0).getHealthy()).isEqualTo(2);
    assertThat(serving.getIdentity().getInstanceId()).isEqualTo("i-0abc");
    assertThat(serving.getIdentity().getIdentitySignature()).isEqualTo("MIIsig");
    assertThat(serving.getIdentity().getTagsMap()).containsEntry("team", "payments");
    assertThat(serving.getNode().getZone()).isEqualTo("us-east-1c");

    reporting.drain("spot notice");
    assertThat(reporting.heartbeat().getState()).isEqualTo(HostState.DRAINING);
    assertThat(admin.posts).containsExactly("/healthcheck/fail", "/drain_listeners?graceful");
    reporting.drain("again");
    assertThat(admin.posts).as("a drain happens once").hasSize(2);
    assertThat(status.metrics().registry().getGauges().get("envoy_agent.host.draining").getValue())
        .isEqualTo(1);
  }
}
