package dev.envoyagent.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.envoyagent.ec2.Ec2Metadata;
import dev.envoyagent.ec2.Ec2MetadataException;
import dev.envoyagent.ec2.InstanceIdentity;
import dev.envoyagent.metrics.AgentMetrics;
import java.net.URI;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CountedEc2MetadataTest {

  /** IMDS that answers the identity, 404s one path and fails on another. */
  static final class ScriptedImds implements Ec2Metadata {
    @Override
    public InstanceIdentity identity() {
      return new InstanceIdentity(
          "i-1", "r", "z", "zid", "10.0.0.1", "t", "ami", Map.of(), "{}", "sig");
    }

    @Override
    public Optional<String> read(String path) {
      if (path.endsWith("fails")) {
        throw new Ec2MetadataException(endpoint(), "IMDS timed out reading " + path, null);
      }
      return Optional.empty();
    }

    @Override
    public URI endpoint() {
      return URI.create("http://127.0.0.1:1");
    }

    @Override
    public void close() {}
  }

  @Test
  void countsCallsAndFailures() {
    AgentMetrics metrics = new AgentMetrics();
    CountedEc2Metadata imds = new CountedEc2Metadata(new ScriptedImds(), metrics);
    assertThat(metrics.counter("imds", "calls").getCount()).isZero();
    imds.identity();
    assertThat(imds.read("/latest/meta-data/spot/instance-action")).isEmpty();
    assertThatThrownBy(() -> imds.read("/fails")).isInstanceOf(Ec2MetadataException.class);
    assertThat(metrics.counter("imds", "calls").getCount()).isEqualTo(3);
    assertThat(metrics.counter("imds", "failures").getCount()).isEqualTo(1);
    assertThat(metrics.prometheusText()).contains("envoy_agent_imds_failures_total 1.0");
  }
}
